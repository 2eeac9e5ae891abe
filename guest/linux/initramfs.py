#!/usr/bin/env python3
"""Builds initramfs images (newc cpio, uncompressed) without root: device
nodes and modes are written into the archive directly.

As a tool, builds the Linux test guest's initramfs (busybox + init.sh, and with
--workloads stress-ng, memtester and numactl with every library they load, taken
from the unpacked Debian packages `hwkvm fetch` prints as guest_workloads=):
  guest/linux/initramfs.py --busybox PATH/busybox --out FILE [--workloads DIR:DIR...]
      [--extra SRC:DEST ...]
As a module (tools/hwkvm uses it): Archive, add_busybox(), add_workloads().
"""
import argparse
import os
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# The Linux test guest's workloads: where each is in its Debian package.
WORKLOADS = {"stress-ng": "usr/bin/stress-ng", "memtester": "usr/sbin/memtester",
             "numactl": "usr/bin/numactl"}
# Where Debian's loader looks for libraries when there is no ld.so.cache.
LIB_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")


class PackageError(Exception):
    """A file the initramfs needs is in none of the packages given."""


class Archive:
    """Entries of a newc cpio archive, written sorted (reproducible: fixed mtime, uid 0)."""

    def __init__(self):
        self.entries = {}  # path -> (mode, data bytes, rdev (major, minor))

    def dir(self, path):
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p and p not in self.entries:
                self.entries[p] = (stat.S_IFDIR | 0o755, b"", (0, 0))

    def _parent(self, path):
        parent = os.path.dirname(path.strip("/"))
        if parent:
            self.dir(parent)

    def file(self, path, data, mode=0o644):
        self._parent(path)
        self.entries[path.strip("/")] = (stat.S_IFREG | mode, data, (0, 0))

    def copy(self, src, path, mode=None):
        with open(src, "rb") as f:
            data = f.read()
        if mode is None:
            mode = os.stat(src).st_mode & 0o777
        self.file(path, data, mode)

    def symlink(self, path, target):
        self._parent(path)
        self.entries[path.strip("/")] = (stat.S_IFLNK | 0o777, target.encode(), (0, 0))

    def chardev(self, path, major, minor, mode=0o600):
        self._parent(path)
        self.entries[path.strip("/")] = (stat.S_IFCHR | mode, b"", (major, minor))

    def write(self, out):
        ino = 1
        with open(out + ".part", "wb") as f:
            for name in sorted(self.entries):
                mode, data, (rmaj, rmin) = self.entries[name]
                _entry(f, name, mode, data, ino, rmaj, rmin)
                ino += 1
            _entry(f, "TRAILER!!!", 0, b"", 0, 0, 0)
        os.replace(out + ".part", out)


def _entry(f, name, mode, data, ino, rmaj, rmin):
    nb = name.encode() + b"\0"
    hdr = "070701" + "".join(
        f"{v:08x}" for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj, rmin, len(nb), 0))
    f.write(hdr.encode() + nb)
    f.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
    f.write(data)
    f.write(b"\0" * ((4 - len(data) % 4) % 4))


def add_busybox(a, busybox):
    """/bin/busybox with a symlink per applet, /dev/console, /dev/null, mount points."""
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "root", "etc"):
        a.dir(d)
    a.copy(busybox, "bin/busybox", 0o755)
    applets = subprocess.run([busybox, "--list"], check=True, capture_output=True,
                             text=True).stdout.split()
    for app in applets:
        if app != "busybox":
            a.symlink(f"bin/{app}", "busybox")
    a.chardev("dev/console", 5, 1)
    a.chardev("dev/null", 1, 3, 0o666)
    a.file("etc/profile",
           b"export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='linux-guest# '\n")


def _package_name(root):
    """stress-ng for .../pkgs/stress-ng_0.15.06-2_amd64."""
    return os.path.basename(root.rstrip("/")).split("_", 1)[0]


def _find(roots, rel, hops=8):
    """(root, host path) of the regular file at `rel` in one of the unpacked
    packages `roots`, following links inside them (an absolute link target is
    a path in the packages, not on this host); None if none has it."""
    for root in roots:
        path = os.path.join(root, rel)
        if os.path.islink(path) and hops > 0:
            target = os.readlink(path)
            target = target.lstrip("/") if target.startswith("/") else os.path.normpath(
                os.path.join(os.path.dirname(rel), target))
            found = _find(roots, target, hops - 1)
            if found:
                return found
        elif os.path.isfile(path):
            return root, path
    return None


def elf_dependencies(path):
    """(program interpreter or None, [DT_NEEDED sonames]) of an ELF file."""
    try:
        out = subprocess.run(["readelf", "-W", "-l", "-d", path], check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise PackageError("readelf is missing: install Debian's binutils") from None
    except subprocess.CalledProcessError as e:
        raise PackageError(f"readelf cannot read {path}: {e.stderr.strip()}") from None
    interp, needed = None, []
    for line in out.splitlines():
        if "Requesting program interpreter:" in line:
            interp = line.split(":", 1)[1].strip(" ]")
        elif "(NEEDED)" in line and "[" in line:
            needed.append(line[line.index("[") + 1:line.rindex("]")])
    return interp, needed


def _find_library(roots, soname, user):
    for d in LIB_DIRS:
        found = _find(roots, f"{d}/{soname}")
        if found:
            return f"{d}/{soname}", found[1]
    names = " ".join(_package_name(r) for r in roots)
    raise PackageError(
        f"{soname} (needed by {user}) is in none of the packages {names}: add the Debian "
        "package that ships it to GuestWorkloadPackages() in hypervisor/emulated/l1_packages.cc")


def add_workloads(a, roots):
    """The workloads (WORKLOADS) from the unpacked Debian packages `roots`,
    with every library they load (DT_NEEDED, transitively) and the loader at
    the path the binaries name. Raises PackageError naming what is missing."""
    todo = []  # (path in the archive, host path)
    for name, rel in WORKLOADS.items():
        found = _find(roots, rel)
        if not found:
            raise PackageError(f"{rel} is in none of the packages given: is the Debian package "
                               f"{name} unpacked among them (hwkvm fetch)?")
        todo.append((rel, found[1]))
    done = {}  # host path -> its path in the archive
    while todo:
        rel, path = todo.pop()
        if rel in done.values():
            continue
        if path in done:  # the loader, as the interpreter and as a library
            a.symlink(rel, "/" + done[path])
            continue
        done[path] = rel
        a.copy(path, rel, 0o755)
        interp, needed = elf_dependencies(path)
        if interp:
            found = _find(roots, interp.lstrip("/"))
            if not found:
                raise PackageError(f"the loader {interp} (of {rel}) is in none of the packages "
                                   "given: is libc6 unpacked among them?")
            todo.append((interp.lstrip("/"), found[1]))
        todo.extend(_find_library(roots, soname, rel) for soname in needed)
    return sorted(done.values())


def build_guest(busybox, out, extra=(), workloads=()):
    """The test guest's initramfs; `workloads`: the unpacked packages of
    add_workloads(), none to leave the workloads out."""
    a = Archive()
    add_busybox(a, busybox)
    if workloads:
        add_workloads(a, workloads)
    a.copy(os.path.join(HERE, "init.sh"), "init", 0o755)
    for src, dest in extra:
        a.copy(src, dest)
    a.write(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busybox", required=True, help="a static busybox binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--extra", action="append", default=[], metavar="SRC:DEST")
    ap.add_argument("--workloads", default="", metavar="DIR:DIR...",
                    help="add stress-ng, memtester, numactl from these unpacked Debian packages "
                    "(hwkvm fetch's guest_workloads=)")
    a = ap.parse_args()
    if not os.access(a.busybox, os.X_OK):
        sys.exit(f"initramfs.py: {a.busybox} is not an executable busybox")
    try:
        build_guest(a.busybox, a.out, [e.split(":", 1) for e in a.extra],
                    [d for d in a.workloads.split(":") if d])
    except PackageError as e:
        sys.exit(f"initramfs.py: {e}")


if __name__ == "__main__":
    main()

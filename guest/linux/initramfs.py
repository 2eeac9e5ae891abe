#!/usr/bin/env python3
"""Builds initramfs images (newc cpio, uncompressed) without root: device
nodes and modes are written into the archive directly.

As a tool, builds the Linux test guest's initramfs (busybox + init.sh):
  guest/linux/initramfs.py --busybox PATH/busybox --out FILE [--extra SRC:DEST ...]
As a module (tools/hwkvm uses it): Archive, add_busybox().
"""
import argparse
import os
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


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
    a.file("etc/profile", b"export PATH=/bin:/sbin\nexport PS1='linux-guest# '\n")


def build_guest(busybox, out, extra=()):
    a = Archive()
    add_busybox(a, busybox)
    a.copy(os.path.join(HERE, "init.sh"), "init", 0o755)
    for src, dest in extra:
        a.copy(src, dest)
    a.write(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busybox", required=True, help="a static busybox binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--extra", action="append", default=[], metavar="SRC:DEST")
    a = ap.parse_args()
    if not os.access(a.busybox, os.X_OK):
        sys.exit(f"initramfs.py: {a.busybox} is not an executable busybox")
    build_guest(a.busybox, a.out, [e.split(":", 1) for e in a.extra])


if __name__ == "__main__":
    main()

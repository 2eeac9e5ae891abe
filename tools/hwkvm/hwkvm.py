#!/usr/bin/env python3
"""hwkvm: run commands inside an emulated hardware-KVM machine.

The machine ("L1") is a stock Debian kernel under QEMU in pure emulation
(TCG) with an AMD CPU that has SVM (`-cpu EPYC,-xsave,+svm`): its kvm_amd
gives a real hardware-style /dev/kvm with nested paging, so ssivm can boot
unmodified Linux guests ("L2") inside it although this host only has PVM.

  tools/hwkvm/hwkvm.py [options] -- COMMAND...   run COMMAND (sh -c) in L1
  tools/hwkvm/hwkvm.py [options] --script FILE   run a sh script in L1

Prints what the command prints and exits with its status (125: the harness
failed, e.g. L1 did not come up or timed out).

Inside L1: /bin/ssivm (the binary from --ssivm, with its shared libraries),
/l2/bzImage (the Debian kernel) and /l2/initrd.cpio (guest/linux/init.sh +
busybox), busybox applets, and with --with-qemu /bin/qemu-system-x86_64
(firmware in /fw). /dev/kvm is ready (kvm, kvm-amd loaded) before the command.

Everything comes from Debian packages (tools/hwkvm/fetch_packages.sh; run
first, outside any sandbox, or let this tool run it unless --offline). The L1
initramfs is cached in CACHE/l1/ keyed by a hash of all its inputs (rebuilt
when the ssivm binary, a package, an init script or this tool change); the
command goes in a small second cpio appended at boot, so changing it costs no
rebuild.
"""
import argparse
import hashlib
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "guest", "linux"))
import initramfs  # noqa: E402

KVM_MODULES = ["kvm-amd"]  # plus their dependencies from modules.dep
QEMU_FIRMWARE = ["/usr/share/seabios/bios-256k.bin", "/usr/share/qemu/linuxboot_dma.bin",
                 "/usr/share/qemu/kvmvapic.bin", "/usr/share/seabios/vgabios-stdvga.bin",
                 "/usr/share/qemu/efi-e1000.rom"]
BEGIN = "HWKVM_JOB_BEGIN"
STATUS = "HWKVM_JOB_STATUS="
HARNESS_FAILED = 125


def die(msg):
    print(f"hwkvm: {msg}", file=sys.stderr)
    sys.exit(HARNESS_FAILED)


def fetch(cache, offline):
    """kernel_root and busybox paths (fetching unless offline)."""
    if offline:
        pkgs = os.path.join(cache, "pkgs")
        kr = sorted(p for p in _ls(pkgs) if p.startswith("linux-image-"))
        bb = sorted(p for p in _ls(pkgs) if p.startswith("busybox-static"))
        if not kr or not bb:
            die(f"no unpacked kernel/busybox packages in {pkgs}: run "
                f"tools/hwkvm/fetch_packages.sh {cache} first")
        return os.path.join(pkgs, kr[-1]), os.path.join(pkgs, bb[-1], "bin", "busybox")
    r = subprocess.run([os.path.join(HERE, "fetch_packages.sh"), cache], capture_output=True,
                       text=True)
    if r.returncode != 0:
        die(f"fetching packages failed:\n{r.stderr}")
    kv = dict(l.split("=", 1) for l in r.stdout.split() if "=" in l)
    return kv["kernel_root"], kv["busybox"]


def _ls(d):
    try:
        return os.listdir(d)
    except OSError:
        return []


def kernel_paths(kernel_root):
    mods = _ls(os.path.join(kernel_root, "lib", "modules"))
    if len(mods) != 1:
        die(f"{kernel_root}: expected one lib/modules/<release>, found {mods}")
    release = mods[0]
    vmlinuz = os.path.join(kernel_root, "boot", f"vmlinuz-{release}")
    if not os.path.isfile(vmlinuz):
        die(f"{vmlinuz} is missing")
    return release, vmlinuz, os.path.join(kernel_root, "lib", "modules", release)


def module_load_order(moddir, wanted):
    """.ko paths (relative to moddir), dependencies first, from each module's
    'depends=' modinfo field (the package ships no modules.dep: depmod makes it)."""
    paths = {}
    for root, _, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            if f.endswith(".ko"):
                paths[f[:-3].replace("-", "_")] = os.path.relpath(os.path.join(root, f), moddir)
    order = []

    def visit(name):
        rel = paths.get(name.replace("-", "_"))
        if rel is None:
            die(f"module {name} is not in {moddir}")
        with open(os.path.join(moddir, rel), "rb") as f:
            m = re.search(rb"depends=([^\0]*)\0", f.read())
        for d in (m.group(1).decode().split(",") if m and m.group(1) else []):
            visit(d)
        if rel not in order:
            order.append(rel)

    for w in wanted:
        visit(w)
    return order


def shared_libraries(binary):
    """(host path, path in the image) of every library `binary` loads."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if r.returncode != 0:
        return []  # static
    out = []
    for line in r.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            out.append((m.group(1), m.group(1).lstrip("/")))
    return out


def add_binary(a, path, dest, inputs):
    a.copy(path, dest, 0o755)
    inputs.append(path)
    for host, inimage in shared_libraries(path):
        a.copy(os.path.realpath(host), inimage, 0o755)
        inputs.append(host)


def digest(paths, extra):
    h = hashlib.sha256()
    for p in paths:
        h.update(os.path.basename(p).encode() + b"\0")  # same key from runfiles
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    for e in extra:
        h.update(e.encode() + b"\0")
    return h.hexdigest()[:16]


def build_l1(cache, kernel_root, busybox, ssivm, with_qemu):
    """Path of the cached L1 base initramfs, building it if its inputs changed."""
    release, vmlinuz, moddir = kernel_paths(kernel_root)
    mods = module_load_order(moddir, KVM_MODULES)
    l1_init = os.path.join(HERE, "l1_init.sh")
    guest_init = os.path.join(REPO, "guest", "linux", "init.sh")
    inputs = [vmlinuz, busybox, l1_init, guest_init, os.path.abspath(__file__),
              initramfs.__file__]
    inputs += [os.path.join(moddir, m) for m in mods]
    a = initramfs.Archive()
    initramfs.add_busybox(a, busybox)
    a.copy(l1_init, "init", 0o755)
    a.file("etc/kvm-modules", ("\n".join(os.path.basename(m) for m in mods) + "\n").encode())
    for m in mods:
        a.copy(os.path.join(moddir, m), "lib/modules/" + os.path.basename(m), 0o644)
    add_binary(a, ssivm, "bin/ssivm", inputs)
    if with_qemu:
        qemu = shutil.which("qemu-system-x86_64")
        add_binary(a, qemu, "bin/qemu-system-x86_64", inputs)
        for fw in QEMU_FIRMWARE:
            if os.path.exists(fw):
                a.copy(os.path.realpath(fw), "fw/" + os.path.basename(fw), 0o644)
                inputs.append(fw)
    key = digest(inputs, [release, str(with_qemu)])
    out = os.path.join(cache, "l1", f"l1-{key}{'-qemu' if with_qemu else ''}.cpio")
    if os.path.exists(out):
        return vmlinuz, out
    # The L2 test guest: guest/linux's initramfs, built from the same busybox.
    os.makedirs(os.path.dirname(out), exist_ok=True)
    l2 = os.path.join(cache, "l1", f"l2-{key}.cpio")
    initramfs.build_guest(busybox, l2)
    a.copy(vmlinuz, "l2/bzImage", 0o644)
    a.copy(l2, "l2/initrd.cpio", 0o644)
    os.remove(l2)
    a.write(out)
    # Keep the cache small: drop older images of the same kind.
    for old in _ls(os.path.dirname(out)):
        if old.startswith("l1-") and old != os.path.basename(out) \
                and old.endswith("-qemu.cpio") == with_qemu:
            os.remove(os.path.join(os.path.dirname(out), old))
    print(f"hwkvm: built {out} ({os.path.getsize(out) >> 20} MiB)", file=sys.stderr)
    return vmlinuz, out


def job_cpio(script, tmpdir):
    a = initramfs.Archive()
    a.file("job/run.sh", script.encode(), 0o755)
    path = os.path.join(tmpdir, "job.cpio")
    a.write(path)
    return path


def run_qemu(vmlinuz, initrd, args, echo):
    """Boots L1; returns (job status or None, job output lines, log lines)."""
    cmd = ["qemu-system-x86_64", "-accel", f"tcg,thread={'multi' if args.smp > 1 else 'single'}",
           "-cpu", "EPYC,-xsave,+svm", "-smp", str(args.smp), "-m", str(args.l1_memory),
           "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
           "-kernel", vmlinuz, "-initrd", initrd,
           "-append", "console=ttyS0 quiet panic=-1 nokaslr"]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    status, job, log, buf, in_job = None, [], [], b"", False
    try:
        while True:
            if time.monotonic() - t0 > args.timeout:
                log.append(f"hwkvm: timeout after {args.timeout} s")
                break
            r, _, _ = select.select([p.stdout], [], [], 1.0)
            if not r:
                if p.poll() is not None:
                    break
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").rstrip("\r")
                stamp = f"[{time.monotonic() - t0:7.2f}] {line}"
                log.append(stamp)
                if args.verbose:
                    print(stamp, file=sys.stderr, flush=True)
                if line.startswith(STATUS) and in_job:
                    status = int(line[len(STATUS):].split()[0])
                    in_job = False
                elif in_job:
                    job.append(line)
                    if echo:
                        print(line, flush=True)
                elif line.startswith(BEGIN):
                    in_job = True
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    if buf:
        log.append(buf.decode("utf-8", "replace"))
    return status, job, log


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--script", help="sh script to run in L1")
    ap.add_argument("--ssivm", default=os.path.join(REPO, "bazel-bin", "hypervisor", "ssivm"),
                    help="the ssivm binary to put in L1 (default: bazel-bin/hypervisor/ssivm)")
    ap.add_argument("--cache", default=os.environ.get("SSIVM_HWKVM_CACHE",
                                                      os.path.join(REPO, ".cache", "hwkvm")))
    ap.add_argument("--offline", action="store_true",
                    help="never download: use what the cache holds")
    ap.add_argument("--with-qemu", action="store_true",
                    help="also put this host's qemu-system-x86_64 in L1 (for comparisons)")
    ap.add_argument("--smp", type=int, default=2, help="L1 CPUs (default 2)")
    ap.add_argument("--l1-memory", type=int, default=1024, help="L1 RAM in MiB (default 1024)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds for the whole run")
    ap.add_argument("--log", help="write the whole timestamped L1 console here")
    ap.add_argument("--verbose", "-v", action="store_true", help="show the L1 console live")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if bool(args.script) == bool(command):
        die("give either --script FILE or -- COMMAND (see --help)")
    if args.script:
        with open(args.script) as f:
            script = f.read()
    else:
        script = "#!/bin/sh\n" + " ".join(_quote(c) for c in command) + "\n"
    if not shutil.which("qemu-system-x86_64"):
        die("qemu-system-x86_64 is missing (apt-get install qemu-system-x86)")
    if not os.access(args.ssivm, os.X_OK):
        die(f"{args.ssivm} is not an executable (bazel build //hypervisor:ssivm?)")

    kernel_root, busybox = fetch(args.cache, args.offline)
    vmlinuz, base = build_l1(args.cache, kernel_root, busybox, args.ssivm, args.with_qemu)
    with tempfile.TemporaryDirectory(prefix="hwkvm-") as tmp:
        # Linux unpacks concatenated cpio archives in order: the job comes last.
        initrd = os.path.join(tmp, "initrd.cpio")
        with open(initrd, "wb") as out:
            with open(base, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
            with open(job_cpio(script, tmp), "rb") as f:
                shutil.copyfileobj(f, out)
        status, _, log = run_qemu(vmlinuz, initrd, args, echo=True)
    if args.log:
        with open(args.log, "w") as f:
            f.write("\n".join(log) + "\n")
    if status is None:
        tail = "\n".join(log[-30:])
        die(f"the L1 machine did not report the command's status; its console ended:\n{tail}")
    sys.exit(status)


def _quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    main()

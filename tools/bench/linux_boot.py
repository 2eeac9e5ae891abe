#!/usr/bin/env python3
"""Linux boot benchmark on hardware KVM: boots the same Debian bzImage and
test initramfs (guest/linux) with ssivm and with QEMU (`qemu-system-x86_64
-enable-kvm`), alternating, in ONE run, and prints JSON: time from VMM start
to the guest's /init for each, their ratio, ssivm's own setup time and its
exits per second during the boot (the guest powers off right after /init).
On a host without hardware KVM it all runs inside the emulated hardware-KVM
machine (see "runtime" in the JSON).

  tools/bench/linux_boot.py [--runs N] [--vcpus N] [--memory MiB] [--out FILE]
                            [--kvm auto|host|emulated]

Build first (`bazel build //hypervisor:ssivm //tools/hwkvm`); the kernel and
busybox come from the package cache (`hwkvm fetch`). A benchmark, not a test:
compare the ratio, never the absolute numbers.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import bench_runtime

ROOT = bench_runtime.ROOT
SSIVM = os.path.join(ROOT, "bazel-bin", "hypervisor", "ssivm")
CMDLINE = "console=ttyS0 quiet ssivm.test=poweroff"
sys.path.insert(0, os.path.join(ROOT, "guest", "linux"))
import initramfs  # noqa: E402


def boot(argv):
    """One boot: seconds to the guest's /init marker, the whole run, its output."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    init_at, out = None, []
    for raw in iter(p.stdout.readline, b""):
        line = raw.decode("utf-8", "replace")
        if init_at is None and "SSIVM_LINUX_INIT_REACHED" in line:
            init_at = time.monotonic() - start
        out.append(line)
    p.wait()
    return {"init_s": init_at, "total_s": time.monotonic() - start, "status": p.returncode,
            "out": "".join(out)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--vcpus", type=int, default=1)
    ap.add_argument("--memory", type=int, default=256)
    ap.add_argument("--out", help="also write the JSON here")
    bench_runtime.add_argument(ap)
    a = ap.parse_args()
    status = bench_runtime.run_inside_if_needed(a.kvm, memory_mib=2048,
                                                rw_dirs=bench_runtime.dirs_of(a.out),
                                                need_hardware=True)
    if status is not None:
        return status
    fetched = subprocess.run([bench_runtime.HWKVM, "fetch", "--offline"], capture_output=True,
                             text=True)
    paths = dict(l.split("=", 1) for l in fetched.stdout.split() if "=" in l)
    if fetched.returncode != 0:
        sys.exit(f"linux_boot: no kernel and busybox in the package cache: {fetched.stderr}")
    tmp = tempfile.mkdtemp()
    initrd = os.path.join(tmp, "initrd.cpio")
    initramfs.build_guest(paths["busybox"], initrd)
    kernel = paths["vmlinuz"]
    sides = {
        "ssivm": [SSIVM, "--kernel", kernel, "--initrd", initrd, "--vcpus", str(a.vcpus),
                  "--memory", str(a.memory), "--cmdline", CMDLINE, "--console", "stdio"],
        "qemu": ["qemu-system-x86_64", "-enable-kvm", "-cpu", "host", "-smp", str(a.vcpus), "-m",
                 str(a.memory), "-nodefaults", "-display", "none", "-serial", "stdio",
                 "-monitor", "none", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
                 "-append", CMDLINE],
    }
    runs = {side: [] for side in sides}
    for _ in range(a.runs):
        for side, argv in sides.items():  # alternating: the same noise for both
            runs[side].append(boot(argv))

    def summary(side):
        rs = runs[side]
        ok = [r for r in rs if r["init_s"] is not None]
        s = {"runs": len(rs), "reached_init": len(ok)}
        if ok:
            s["time_to_init_s"] = [round(r["init_s"], 2) for r in ok]
            s["time_to_init_s_median"] = round(statistics.median(s["time_to_init_s"]), 2)
            s["total_s"] = [round(r["total_s"], 2) for r in rs]
        if side == "ssivm" and ok:
            setup = [re.search(r"vm ready after ([\d.]+) ms", r["out"]) for r in ok]
            exits = [re.search(r"\((\d+) vCPU exits handled\)", r["out"]) for r in ok]
            s["setup_ms"] = [float(m.group(1)) for m in setup if m]
            rates = [int(m.group(1)) / r["total_s"] for m, r in zip(exits, ok) if m]
            if rates:
                s["exits_per_s_median"] = round(statistics.median(rates), 1)
        return s

    res = {"benchmark": "linux_boot", "runtime": bench_runtime.runtime_json(), "vcpus": a.vcpus,
           "memory_mib": a.memory, "ssivm": summary("ssivm"), "qemu": summary("qemu")}
    q = res["qemu"].get("time_to_init_s_median")
    s = res["ssivm"].get("time_to_init_s_median")
    if q and s:
        res["ratio_ssivm_over_qemu"] = round(s / q, 3)
    bench_runtime.emit(res, a.out)
    return 0 if q and s else 1


if __name__ == "__main__":
    sys.exit(main())

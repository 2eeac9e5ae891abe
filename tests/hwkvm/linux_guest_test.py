#!/usr/bin/env python3
"""An unmodified Debian kernel boots in ssivm on hardware KVM (emulated: the
tools/hwkvm machine), one L1 boot for all checks (linux_guest_job.sh).

Needs SSIVM_HWKVM_CACHE (prepared by `./ssi test` through
tools/hwkvm/fetch_packages.sh) and qemu-system-x86_64; without them it says
why and passes as skipped."""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def main():
    cache = os.environ.get("SSIVM_HWKVM_CACHE")
    if not cache or not os.path.isdir(cache) or not shutil.which("qemu-system-x86_64"):
        print("SKIPPED: set SSIVM_HWKVM_CACHE (./ssi test does) and install qemu-system-x86")
        return 0
    cmd = [sys.executable, os.path.join(ROOT, "tools/hwkvm/hwkvm.py"), "--offline",
           "--cache", cache, "--ssivm", os.path.join(ROOT, "hypervisor/ssivm"),
           "--timeout", "1200", "--script", os.path.join(HERE, "linux_guest_job.sh")]
    outdir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR")
    if outdir:
        cmd += ["--log", os.path.join(outdir, "l1-console.log")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout)
    print(r.stderr, file=sys.stderr)
    check(r.returncode == 0, f"the job ran in L1 (status {r.returncode})")
    runs = {}
    for m in re.finditer(r"^=== RUN (\S+)\n(.*?)^=== RC \1 (\d+)$", r.stdout, re.S | re.M):
        runs[m.group(1)] = (m.group(2), int(m.group(3)))

    out, rc = runs.get("boot1", ("", None))
    check("host KVM kind: hardware" in out, "boot1: ssivm detects hardware KVM in L1")
    check("SSIVM_LINUX_INIT_REACHED nproc=1 mem_end_mib=256 " in out,
          "boot1: the guest's /init ran with 1 CPU and RAM up to 256 MiB")
    check("guest powered off (ACPI S5)" in out and rc == 0, f"boot1: poweroff -> status 0 ({rc})")

    out, rc = runs.get("shell2", ("", None))
    check("SSIVM_LINUX_INIT_REACHED nproc=2 mem_end_mib=384 " in out,
          "shell2: the guest's /init ran with 2 CPUs and RAM up to 384 MiB")
    check("TYPED_42 on /dev/ttyS0" in out, "shell2: a command typed on the console ran on ttyS0")
    check(rc == 0, f"shell2: poweroff from the shell -> status 0 ({rc})")

    out, rc = runs.get("reboot1", ("", None))
    check("guest asked for a reboot" in out and rc == 123, f"reboot1: reboot -> status 123 ({rc})")

    out, rc = runs.get("corrupt", ("", None))
    check("truncated bzImage" in out and rc == 125,
          f"corrupt: a truncated bzImage is refused with a clear error ({rc})")
    check("starting" not in out and "SSIVM_LINUX" not in out, "corrupt: no vCPU ran")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

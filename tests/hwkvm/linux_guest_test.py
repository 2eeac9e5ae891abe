#!/usr/bin/env python3
"""An unmodified Debian kernel boots in ssivm on hardware KVM: on this host's
/dev/kvm if it is hardware KVM, else inside the emulated hardware-KVM machine
(tools/hwkvm: this script runs again in there, one boot for every check).

Needs SSIVM_TEST_VMLINUZ (the Debian kernel; `./ssi test` sets it, from the
package cache that also holds busybox and the workloads' Debian packages) and
SSIVM_HWKVM_CACHE; without them it fails, saying so."""
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SSIVM = os.path.join(ROOT, "hypervisor", "ssivm")
HWKVM = os.path.join(ROOT, "tools", "hwkvm", "hwkvm")
sys.path.insert(0, os.path.join(ROOT, "guest", "linux"))
import initramfs  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(name, *args, timeout=600):
    r = subprocess.run([SSIVM, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    out = r.stdout + r.stderr
    print(f"=== {name}: status {r.returncode}\n{out}", flush=True)
    return out, r.returncode


def shell(kernel, initrd):
    """2 vCPUs; a command typed on the console runs; `poweroff -f` ends it."""
    p = subprocess.Popen([SSIVM, "--kernel", kernel, "--initrd", initrd, "--vcpus", "2",
                          "--memory", "384", "--cmdline", "console=ttyS0 quiet"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = []
    reader = threading.Thread(target=lambda: out.extend(iter(p.stdout.readline, b"")))
    reader.start()

    def wait_for(text, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and p.poll() is None:
            if any(text in line for line in out):
                return True
            time.sleep(0.2)
        return False

    if wait_for(b"SSIVM_LINUX_SHELL_READY", 600):
        time.sleep(0.5)
        p.stdin.write(b"echo TYPED_$((6*7)) on $(tty)\n")
        p.stdin.flush()
        wait_for(b"TYPED_42", 120)
        p.stdin.write(b"poweroff -f\n")
        p.stdin.flush()
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    reader.join()
    text = b"".join(out).decode("utf-8", "replace")
    print(f"=== shell2: status {rc}\n{text}", flush=True)
    return text, rc


def workloads(kernel, initrd):
    """Debian's self-checking programs on 2 vCPUs: each exits 0, and numactl
    shows one NUMA node with both CPUs."""
    start = time.monotonic()
    out, rc = run("workloads2", "--kernel", kernel, "--initrd", initrd, "--vcpus", "2",
                  "--memory", "384", "--cmdline",
                  "console=ttyS0 quiet ssivm.workloads=1 ssivm.test=poweroff")
    for name in ("numactl", "stress-ng", "memtester"):
        m = re.search(rf"^SSIVM_LINUX_WORKLOAD {name} status=(\d+) seconds=(\S+)", out, re.M)
        seen = f"status {m.group(1)} in {m.group(2)} s" if m else "no result line"
        check(m is not None and m.group(1) == "0", f"workloads2: {name} exits 0 ({seen})")
    check("SSIVM_LINUX_WORKLOADS_DONE failed=0" in out, "workloads2: no workload failed")
    # "dispatching hogs: 2 vm, 2 futex, ...": each of them did some work.
    hogs = re.search(r"dispatching hogs: (.*)$", out, re.M)
    stressors = [h.split()[-1] for h in hogs.group(1).split(", ")] if hogs else []
    check(len(stressors) >= 4, f"workloads2: stress-ng ran its stressors ({stressors})")
    for stressor in stressors:
        m = re.search(rf"^stress-ng: metrc: \[\d+\] {stressor} +(\d+) ", out, re.M)
        check(m is not None and int(m.group(1)) > 0,
              f"workloads2: stress-ng's {stressor} did work ({m.group(1) if m else 'no'} bogo ops)")
    check(re.search(r"^available: 1 nodes \(0\)$", out, re.M) is not None
          and re.search(r"^node 0 cpus: 0 1$", out, re.M) is not None,
          "workloads2: numactl -H shows node 0 with CPUs 0 and 1")
    check("guest powered off (ACPI S5)" in out and rc == 0,
          f"workloads2: poweroff -> status 0 ({rc}, {time.monotonic() - start:.0f} s)")


def main():
    if os.environ.get("SSIVM_KVM") != "host":
        # Hardware KVM is needed: here, or in the emulated machine.
        os.execv(HWKVM, [HWKVM, "test", "--need-hardware", "--", sys.executable,
                         os.path.abspath(__file__)])
    kernel = os.environ.get("SSIVM_TEST_VMLINUZ", "")
    if not os.path.isfile(kernel):
        print("FAIL: SSIVM_TEST_VMLINUZ names no kernel (./ssi test sets it)")
        return 1
    fetched = subprocess.run([HWKVM, "fetch", "--offline"], capture_output=True, text=True)
    paths = dict(l.split("=", 1) for l in fetched.stdout.split() if "=" in l)
    if fetched.returncode != 0 or "busybox" not in paths or "guest_workloads" not in paths:
        print(f"FAIL: the package cache lacks busybox or the workloads: {fetched.stderr}")
        return 1
    tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    initrd = os.path.join(tmp, "initrd.cpio")
    initramfs.build_guest(paths["busybox"], initrd)
    # The same with stress-ng, memtester and numactl (for one boot: larger).
    workloads_initrd = os.path.join(tmp, "workloads.cpio")
    initramfs.build_guest(paths["busybox"], workloads_initrd,
                          workloads=paths["guest_workloads"].split(":"))

    out, rc = run("boot1", "--kernel", kernel, "--initrd", initrd, "--vcpus", "1", "--memory",
                  "256", "--cmdline", "console=ttyS0 quiet ssivm.test=poweroff")
    check("host KVM kind: hardware" in out, "boot1: ssivm detects hardware KVM")
    check("SSIVM_LINUX_INIT_REACHED nproc=1 mem_end_mib=256 " in out,
          "boot1: the guest's /init ran with 1 CPU and RAM up to 256 MiB")
    check("guest powered off (ACPI S5)" in out and rc == 0, f"boot1: poweroff -> status 0 ({rc})")

    out, rc = shell(kernel, initrd)
    check("SSIVM_LINUX_INIT_REACHED nproc=2 mem_end_mib=384 " in out,
          "shell2: the guest's /init ran with 2 CPUs and RAM up to 384 MiB")
    check("TYPED_42 on /dev/ttyS0" in out, "shell2: a command typed on the console ran on ttyS0")
    check(rc == 0, f"shell2: poweroff from the shell -> status 0 ({rc})")

    workloads(kernel, workloads_initrd)

    out, rc = run("reboot1", "--kernel", kernel, "--initrd", initrd, "--vcpus", "1", "--memory",
                  "128", "--cmdline", "console=ttyS0 quiet ssivm.test=reboot")
    check("guest asked for a reboot" in out and rc == 123, f"reboot1: reboot -> status 123 ({rc})")

    truncated = os.path.join(tmp, "truncated.bzImage")
    with open(kernel, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(3000000))
    out, rc = run("corrupt", "--kernel", truncated, "--initrd", initrd, "--vcpus", "1",
                  "--memory", "128")
    check("truncated" in out and rc == 125,
          f"corrupt: a truncated bzImage is refused with a clear error ({rc})")
    check("starting" not in out and "SSIVM_LINUX" not in out, "corrupt: no vCPU ran")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Linux boot benchmark on hardware KVM (the tools/hwkvm machine): boots the
same Debian bzImage and test initramfs (guest/linux) with ssivm and with QEMU
(`qemu-system-x86_64 -enable-kvm`, copied into L1) in ONE L1 run, alternating,
and prints JSON: time from VMM start to the guest's /init for each (L1's clock,
10 ms resolution), their ratio, ssivm's own setup time and its exits per
second during the boot (the guest powers off right after /init).

  tools/hwkvm/bench.py [--runs N] [--vcpus N] [--memory MiB] [--out FILE]
                       [hwkvm.py options such as --offline --cache --ssivm]

Times are of an emulated machine on a shared host: compare the ratio, never
the absolute numbers.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

JOB = r"""#!/bin/sh
now() { cut -d' ' -f1 /proc/uptime; }
CMDLINE="console=ttyS0 quiet ssivm.test=poweroff"
stamp() { # prefix lines; mark the guest's /init with L1's clock
    while IFS= read -r l; do
        case "$l" in *SSIVM_LINUX_INIT_REACHED*) echo "BENCH_INIT $(now)";; esac
        echo "  | $l"
    done
}
for i in $(seq 1 {runs}); do
    echo "BENCH_START ssivm $i $(now)"
    ssivm --kernel /l2/bzImage --initrd /l2/initrd.cpio --vcpus {vcpus} --memory {memory} \
        --cmdline "$CMDLINE" --console stdio </dev/null 2>&1 | stamp
    echo "BENCH_END ssivm $i $(now)"
    echo "BENCH_START qemu $i $(now)"
    qemu-system-x86_64 -L /fw -enable-kvm -cpu host -smp {vcpus} -m {memory} -nodefaults \
        -display none -serial stdio -monitor none -no-reboot \
        -kernel /l2/bzImage -initrd /l2/initrd.cpio -append "$CMDLINE" </dev/null 2>&1 | stamp
    echo "BENCH_END qemu $i $(now)"
done
"""


def parse(out):
    runs, cur = [], None
    for line in out.splitlines():
        f = line.split()
        if line.startswith("BENCH_START "):
            cur = {"vmm": f[1], "run": int(f[2]), "start": float(f[3])}
        elif line.startswith("BENCH_INIT ") and cur:
            cur["init"] = float(f[1])
        elif line.startswith("BENCH_END ") and cur:
            cur["end"] = float(f[3])
            runs.append(cur)
            cur = None
        elif cur and "SSIVM_LINUX_INIT_REACHED" in line:
            m = re.search(r"uptime=([\d.]+)", line)
            if m:
                cur["guest_uptime"] = float(m.group(1))
        elif cur and cur["vmm"] == "ssivm":
            m = re.search(r"vm ready after ([\d.]+) ms", line)
            if m:
                cur["setup_ms"] = float(m.group(1))
            m = re.search(r"exit status (\d+) \((\d+) vCPU exits handled\)", line)
            if m:
                cur["status"] = int(m.group(1))
                cur["exits"] = int(m.group(2))
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--vcpus", type=int, default=1)
    ap.add_argument("--memory", type=int, default=256)
    ap.add_argument("--out", help="also write the JSON here")
    a, rest = ap.parse_known_args()
    job = JOB.replace("{runs}", str(a.runs)).replace("{vcpus}", str(a.vcpus)) \
        .replace("{memory}", str(a.memory))
    jobfile = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"hwkvm-bench-{os.getpid()}.sh")
    with open(jobfile, "w") as f:
        f.write(job)
    try:
        r = subprocess.run([sys.executable, os.path.join(HERE, "hwkvm.py"), "--with-qemu",
                            *rest, "--script", jobfile], capture_output=True, text=True)
    finally:
        os.remove(jobfile)
    runs = parse(r.stdout)
    if r.returncode != 0 or not runs:
        sys.stderr.write(r.stdout + r.stderr)
        sys.exit(f"bench.py: the L1 run failed (status {r.returncode})")

    def summary(vmm):
        rs = [x for x in runs if x["vmm"] == vmm]
        ok = [x for x in rs if "init" in x]
        s = {"runs": len(rs), "reached_init": len(ok)}
        if ok:
            s["time_to_init_s"] = [round(x["init"] - x["start"], 2) for x in ok]
            s["time_to_init_s_median"] = round(statistics.median(s["time_to_init_s"]), 2)
            s["total_s"] = [round(x["end"] - x["start"], 2) for x in rs]
            # The guest kernel's own uptime at /init: the rest of time_to_init is
            # VMM setup, firmware (QEMU) and the bzImage's self-decompression.
            s["guest_uptime_at_init_s"] = [x.get("guest_uptime") for x in ok]
        if vmm == "ssivm" and ok:
            s["setup_ms"] = [x.get("setup_ms") for x in ok]
            s["exits"] = [x.get("exits") for x in ok]
            s["exit_status"] = [x.get("status") for x in ok]
            rates = [x["exits"] / (x["end"] - x["start"]) for x in ok
                     if x.get("exits") and x["end"] > x["start"]]
            if rates:
                s["exits_per_s_median"] = round(statistics.median(rates), 1)
        return s

    res = {"vcpus": a.vcpus, "memory_mib": a.memory, "ssivm": summary("ssivm"),
           "qemu": summary("qemu")}
    q = res["qemu"].get("time_to_init_s_median")
    s = res["ssivm"].get("time_to_init_s_median")
    if q and s:
        res["ratio_ssivm_over_qemu"] = round(s / q, 3)
    text = json.dumps(res, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 0 if q and s else 1


if __name__ == "__main__":
    sys.exit(main())

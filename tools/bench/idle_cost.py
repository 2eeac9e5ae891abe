#!/usr/bin/env python3
"""What an idle aggregate costs its host: a 2-node guest sits at its login
prompt, and the CPU time its node processes take over `--seconds` of wall
time is measured (utime + stime from /proc). Its floor, in the same run: the
same guest with its 2 vCPUs in ONE node process (no DSM: HLT exits to KVM,
which sleeps the thread). Prints JSON; with several `--ssictl` builds, they
alternate in one run (e.g. before and after a change). Without a usable
/dev/kvm it all runs in the emulated hardware-KVM machine ("runtime" in the
JSON).

  tools/bench/idle_cost.py [--ssictl bazel-bin/tools/ssictl/ssictl ...] [--runs 2]
                           [--seconds 10] [--net loopback|netns] [--kvm auto|host|emulated]

A benchmark, not a test: on a shared host compare within one run.
"""
import argparse
import json
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import time

import bench_runtime

TICK = os.sysconf("SC_CLK_TCK")


def node_pids(parent):
    """The ssivm processes `ssictl up` started (its children)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == parent and os.path.basename(cmd.split(b"\0")[0]) == b"ssivm":
            pids.append(int(d))
    return pids


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def one_run(ssictl, net, seconds, nodes):
    shape = ["--nodes", "2", "--net", net] if nodes == 2 else ["--vcpus", "2"]
    p = subprocess.Popen([ssictl, "up", "--kvm", "host", *shape, "--cmdline", "ssi.shell=1"],
                         stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, deadline = b"", time.monotonic() + 300
    try:
        while b"login:" not in out and time.monotonic() < deadline:
            if select.select([p.stdout], [], [], 1)[0]:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        if b"login:" not in out:
            return {"error": "no login prompt", "output": out.decode(errors="replace")[-2000:]}
        time.sleep(2)  # the last boot-time page faults
        pids = node_pids(p.pid)
        before = [cpu_seconds(x) for x in pids]
        t0 = time.monotonic()
        time.sleep(seconds)
        after = [cpu_seconds(x) for x in pids]
        wall = time.monotonic() - t0
        m = re.search(rb"halt by (\S+)", out)
        per_node = [round(b - a, 2) for a, b in zip(before, after)]
        return {"halt_by": m.group(1).decode() if m else None, "wall_s": round(wall, 2),
                "node_cpu_s": per_node, "cpu_per_wall": round(sum(per_node) / wall, 3)}
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ssictl", action="append",
                    help="ssictl builds to compare (default bazel-bin/tools/ssictl/ssictl)")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--net", default="loopback", choices=["loopback", "netns"])
    bench_runtime.add_argument(ap)
    a = ap.parse_args()
    status = bench_runtime.run_inside_if_needed(a.kvm)
    if status is not None:
        return status
    builds = a.ssictl or [os.path.join(bench_runtime.ROOT, "bazel-bin/tools/ssictl/ssictl")]
    runs = {b: [] for b in builds}
    floor = []
    for _ in range(a.runs):
        floor.append(one_run(os.path.abspath(builds[-1]), a.net, a.seconds, 1))
        for b in builds:  # alternating: the same noise for each
            runs[b].append(one_run(os.path.abspath(b), a.net, a.seconds, 2))

    def median(rs):
        ok = [r["cpu_per_wall"] for r in rs if "cpu_per_wall" in r]
        return statistics.median(ok) if ok else None

    res = {"benchmark": "idle_cost", "runtime": bench_runtime.runtime_json(), "nodes": 2,
           "vcpus_per_node": 1, "idle_seconds": a.seconds,
           "floor_one_node_process": {"runs": floor, "cpu_per_wall_median": median(floor)},
           "builds": []}
    for b in builds:
        entry = {"ssictl": b, "runs": runs[b], "cpu_per_wall_median": median(runs[b])}
        if entry["cpu_per_wall_median"] and res["floor_one_node_process"]["cpu_per_wall_median"]:
            entry["ratio_to_floor"] = round(
                entry["cpu_per_wall_median"] / res["floor_one_node_process"]["cpu_per_wall_median"], 2)
        res["builds"].append(entry)

    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

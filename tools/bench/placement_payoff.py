#!/usr/bin/env python3
"""What automatic vCPU placement buys: the guest's own workloads across node
processes with `--placement off` and `--placement on`, alternating, in ONE
run, and their ratios. Prints JSON.

Cases (each `ssictl up --nodes N --vcpus-per-node 1`):
  pingpong  2 nodes: two threads on CPUs of the two nodes pass a token, so
            the token's page crosses the link at every round trip while the
            vCPUs stay apart. Placement moves vCPU 1 to node 0 (vCPU 0 stays
            on the device node) once it has seen two windows of it.
  compute   4 nodes: the matrix multiply at 1..4 threads, whose threads
            share pages across nodes (81 s on 4 nodes when first measured).

For each: the guest's own number (pingpong: ns per round trip, averaged over
the run; compute: us at T = all CPUs), the remote faults of all nodes (their
"dsm: N read faults, M write faults" lines) and the moves placement made.
Ratios are on / off (< 1: placement made it faster / fault less).

  tools/bench/placement_payoff.py [--runs 3] [--cases pingpong:40000,compute]
                                  [--net loopback|netns] [--kvm auto|host|emulated]
                                  [--ssictl bazel-bin/tools/ssictl/ssictl] [--out FILE]

A benchmark, not a test: on a noisy 2-core host compare ratios, not times.
Build first (`bazel build //tools/ssictl //tools/hwkvm`).
"""
import argparse
import re
import statistics
import sys

import aggregation
import bench_runtime

# name -> (nodes, default guest arguments)
CASES = {"pingpong": (2, "40000"), "compute": (4, "160")}


def remote_faults(stderr):
    total = 0
    for m in re.finditer(r"dsm: (\d+) read faults, (\d+) write faults", stderr):
        total += int(m.group(1)) + int(m.group(2))
    return total


def run_case(args, name, guest_args, nodes, placement):
    spec = f"{name}:{guest_args}" if guest_args else name
    argv = [args.ssictl, "up", "--nodes", str(nodes), "--vcpus-per-node", "1",
            "--memory-per-node", str(args.memory_per_node), "--net", args.net,
            "--placement", placement, "--cmdline", f"ssi.run={spec}"]
    # The whole stderr: every node's DSM counters are in its last lines.
    status, results, stderr = aggregation.run_guest(argv, args.timeout, err_tail=None)
    ok, details = results.get(name, (False, "no RESULT line"))
    sample = {"ok": ok and status == 0, "status": status,
              "remote_faults": remote_faults(stderr),
              "moves": len(re.findall(r"vCPU \d+ moved from node", stderr)),
              "value": aggregation.metric(name, details) if ok else None}
    if not sample["ok"]:
        sample["details"] = details
        sample["stderr_tail"] = stderr[-2000:]
    return sample


def median(samples, key):
    values = [s[key] for s in samples if s["ok"] and s[key] is not None]
    return statistics.median(values) if values else None


def ratio(on, off):
    return round(on / off, 3) if on is not None and off else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="pingpong,compute",
                    help="name[:guest arguments], comma-separated: " + ", ".join(CASES))
    aggregation.add_cluster_arguments(ap, timeout=900)
    args = ap.parse_args()
    aggregation.start(args, "placement_payoff")
    cases = []
    for c in [c for c in args.cases.split(",") if c]:
        name, _, guest_args = c.partition(":")
        if name not in CASES:
            sys.exit(f"placement_payoff: unknown case '{name}' (known: {', '.join(CASES)})")
        cases.append((name, guest_args or CASES[name][1]))
    report = {"benchmark": "placement_payoff", "runtime": bench_runtime.runtime_json(),
              "net": args.net, "runs": args.runs, "cases": []}
    for name, guest_args in cases:
        nodes = CASES[name][0]
        samples = {"off": [], "on": []}
        for i in range(args.runs):
            for placement in ("off", "on"):  # alternating: the same noise for both
                print(f"placement_payoff: {name} on {nodes} nodes, placement {placement}, "
                      f"run {i + 1}/{args.runs}", file=sys.stderr)
                samples[placement].append(run_case(args, name, guest_args, nodes, placement))
        entry = {"case": name, "guest_args": guest_args, "nodes": nodes,
                 "unit": aggregation.METRICS[name][1], "failures": []}
        for placement, runs in samples.items():
            entry[placement] = {"median": median(runs, "value"),
                                "remote_faults_median": median(runs, "remote_faults"),
                                "moves_median": median(runs, "moves"),
                                "values": [s["value"] for s in runs]}
            entry["failures"] += [dict(s, placement=placement) for s in runs if not s["ok"]]
        entry["ratios_on_over_off"] = {
            "time": ratio(entry["on"]["median"], entry["off"]["median"]),
            "remote_faults": ratio(entry["on"]["remote_faults_median"],
                                   entry["off"]["remote_faults_median"])}
        report["cases"].append(entry)
    bench_runtime.emit(report, args.out)


if __name__ == "__main__":
    main()

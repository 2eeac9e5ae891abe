"""Summarizes tools/bench/compare_builds.sh's runs: DIR/{before,after}.N.json
(dsm_latency --net both) -> Markdown tables, medians of the runs' medians."""
import json, glob, statistics as st, sys
d = sys.argv[1]
keys = [
 ("host remote read µs", lambda n: n["host_threads"]["remote_read_fault"]["median_us"]),
 ("host write upgrade µs", lambda n: n["host_threads"]["write_upgrade"]["median_us"]),
 ("host sequential MB/s", lambda n: n["host_threads"]["sequential_transfer"]["mb_per_s"]),
 ("guest remote read µs", lambda n: n["guest_vcpu"]["remote_read_fault"]["median_us"]),
 ("guest write upgrade µs", lambda n: n["guest_vcpu"]["write_upgrade"]["median_us"]),
 ("TCP 4K RTT floor µs", lambda n: n["floors"]["tcp_4k_request_response"]["median_us"]),
 ("host read / (RTT + local fault)", lambda n: n["ratios"]["host_remote_read_vs_rtt_plus_local_fault"]),
 ("guest read / (RTT + guest local fault)", lambda n: n["ratios"]["guest_remote_read_vs_rtt_plus_guest_local_fault"]),
]
for net in ["loopback", "netns"]:
    print(f"### {net}")
    print("| | before (median of runs) | after | after/before |")
    print("| --- | --- | --- | --- |")
    for name, f in keys:
        vals = {}
        for v in ["before", "after"]:
            xs = []
            for p in sorted(glob.glob(f"{d}/{v}.*.json")):
                try: xs.append(f(json.load(open(p))["nets"][net]))
                except Exception as e: pass
            vals[v] = xs
        b, a = st.median(vals["before"]), st.median(vals["after"])
        print(f"| {name} | {b:.2f} | {a:.2f} | {a/b:.2f} |  (n={len(vals['before'])}/{len(vals['after'])})")

#!/usr/bin/env bash
# Same-run comparison of two builds of dsm_latency (before/after a change):
# runs them alternately RUNS times each (`--net both`, guest included) and
# prints a Markdown table of the medians of the runs' medians, with the
# after/before ratio. Keep the machine otherwise idle while it runs.
#   tools/bench/compare_builds.sh BEFORE_BIN AFTER_BIN [RUNS (default 15)]
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,6p "$0" >&2; exit 2; }
before=$1 after=$2 runs=${3:-15}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for i in $(seq 1 "$runs"); do
  for v in before after; do
    bin=$before
    [ "$v" = after ] && bin=$after
    "$bin" --net both >"$dir/$v.$i.json" 2>"$dir/$v.$i.err" ||
      { echo "compare_builds: $v run $i failed:" >&2; cat "$dir/$v.$i.err" >&2; exit 1; }
  done
done
python3 "$(dirname "$0")/compare_builds.py" "$dir"

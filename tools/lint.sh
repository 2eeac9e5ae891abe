#!/usr/bin/env bash
# clang-tidy (the checks of .clang-tidy) over every C++ source of the project,
# as `./ssi test` runs it. Prints each finding and a last line
# "lint: N findings in M files (F files checked)"; exits 1 if there are any.
#   tools/lint.sh [--analyzer] [FILE...]   (default: every file Bazel compiles)
# --analyzer adds the clang static analyzer (clang-analyzer-*: about 3x the
# time, so not in `./ssi test`).
set -euo pipefail
extra=()
if [ "${1:-}" = --analyzer ]; then
  extra=(--checks=clang-analyzer-*)
  shift
fi
cd "$(dirname "$0")/.."
command -v clang-tidy >/dev/null || { echo "lint: clang-tidy is not installed" >&2; exit 2; }
python3 tools/compile_commands.py >/dev/null
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(python3 -c 'import json
for e in json.load(open("compile_commands.json")):
    if e["file"].endswith((".cc", ".h")): print(e["file"])')
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# --quiet drops the "N warnings generated" noise; system headers are not ours.
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p . --quiet "${extra[@]}" >"$out" 2>/dev/null || true
grep -E '^[^ ].*: (warning|error): ' "$out" | sort -u >"$out.findings" || true
findings=$(wc -l <"$out.findings")
in_files=$(cut -d: -f1 "$out.findings" | sort -u | wc -l)
cat "$out.findings"
rm -f "$out.findings"
echo "lint: $findings findings in $in_files files (${#files[@]} files checked)"
[ "$findings" -eq 0 ]

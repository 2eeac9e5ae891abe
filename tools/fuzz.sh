#!/usr/bin/env bash
# Builds every fuzz target (tests/support/fuzz.bzl: the cc_tests tagged
# "fuzz") under --config=asan (ASan + UBSan + libFuzzer, Debian's clang 14)
# and fuzzes each for a bounded time from its seed corpus in the tree
# (copied: runs never write into the tree), with its dictionary of tokens
# (NAME.dict beside it) if it has one. `./ssi test` runs it and counts each
# target as one test case.
#   tools/fuzz.sh [--time SECONDS] [--jobs N] [//PKG:TARGET...]
# --time: per target (default 30, or $SSIVM_FUZZ_SECONDS); --jobs: targets
# fuzzed at once (default: the CPUs). Prints one line per target,
#   fuzz: PASS //dsm/protocol:message_fuzz (30 s, 912345 runs, cov 184, corpus 19)
#   fuzz: FAIL //dsm/protocol:message_fuzz: <what the sanitizer or check said>
# the FAIL followed by the report's head, the input (saved under .cache/fuzz/)
# and the command that reproduces it; then "fuzz: N targets, M failed".
# Exits 1 if a target failed or the build did.
#
# The sanitizer build has its own Bazel output base (tools/asan_bazel.sh): the
# normal build's outputs stay as they are. Its server is shut down at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SSIVM_FUZZ_SECONDS:-30}
jobs=$(nproc)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

say() { printf 'fuzz: %s\n' "$*"; }
command -v clang-14 >/dev/null || { say "FAIL build: clang-14 is not installed (./ssi test installs it)"; exit 1; }

bazel_asan() { tools/asan_bazel.sh "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ssivm-fuzz.XXXXXX")
trap 'bazel_asan shutdown >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
artifacts=$PWD/.cache/fuzz

if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(bazel_asan query 'attr(tags, "\bfuzz\b", tests(//...))' 2>"$work/query.log")
  [ ${#targets[@]} -gt 0 ] || { say "FAIL build: no fuzz targets found"; cat "$work/query.log"; exit 1; }
fi

start=$(date +%s)
if ! bazel_asan build --config=asan "${targets[@]}" >"$work/build.log" 2>&1; then
  say "FAIL build: bazel build --config=asan of the fuzz targets failed:"
  grep -E 'error|ERROR' "$work/build.log" | head -n 20 | sed 's/^/    /'
  tail -n 3 "$work/build.log" | sed 's/^/    /'
  say "${#targets[@]} targets, ${#targets[@]} failed"
  exit 1
fi
bin=$(bazel_asan info bazel-bin 2>/dev/null)
say "built ${#targets[@]} targets under --config=asan in $(($(date +%s) - start)) s; fuzzing each for $seconds s, $jobs at a time"

# Fuzzes one target; leaves its verdict in $work/NAME/result.
fuzz_one() {
  local label=$1 pkg=${1#//} name
  name=${pkg#*:}
  pkg=${pkg%%:*}
  local dir=$work/${pkg//\//_}_$name
  mkdir -p "$dir/corpus" "$dir/crashes"
  cp "$pkg/${name}_corpus/"* "$dir/corpus/"
  local rc=0 dict=()
  [ -f "$pkg/$name.dict" ] && dict=(-dict="$pkg/$name.dict")
  # -timeout: an input that takes longer is a failure (a hang); the RSS limit
  # catches a decoder that allocates what its input claims.
  ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14 TMPDIR="$dir" \
    "$bin/$pkg/$name" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -print_funcs=0 -artifact_prefix="$dir/crashes/" "${dict[@]}" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  local runs cov corpus
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -n 1 | cut -d' ' -f2)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  local crash
  crash=$(find "$dir/crashes" -type f | head -n 1)
  if [ "$rc" -eq 0 ] && [ -z "$crash" ]; then
    echo "PASS $label ($seconds s, ${runs:-?} runs, cov ${cov:-?}, corpus $corpus)" >"$dir/result"
    return 0
  fi
  local what
  what=$(grep -m 1 -E '^(==[0-9]+==ERROR|SUMMARY: |fuzz check failed|terminate called|.*runtime error:|==[0-9]+== ERROR: libFuzzer)' \
    "$dir/log" || tail -n 1 "$dir/log")
  {
    echo "FAIL $label: ${what}"
    # The report's head: the error and the innermost frames of our code.
    grep -E '^(==[0-9]+==ERROR|SUMMARY:|fuzz check failed|terminate called|  what\(\)|.*runtime error:| +#[0-9]+ )' \
      "$dir/log" | grep -vE ' in (__|fuzzer::|std::__|LLVMFuzzerRunDriver|main )' | head -n 12 |
      sed 's/^/    /'
    if [ -n "$crash" ]; then
      mkdir -p "$artifacts/$name"
      cp "$crash" "$artifacts/$name/"
      local saved=$artifacts/$name/$(basename "$crash")
      echo "    input: $saved ($(stat -c %s "$crash") bytes; base64: $(head -c 96 "$crash" | base64 -w 0)$([ "$(stat -c %s "$crash")" -gt 96 ] && echo ...))"
      echo "    reproduce: tools/asan_bazel.sh run $label -- $saved"
    else
      echo "    (no input saved: libFuzzer exited with status $rc; log ends: $(tail -n 1 "$dir/log"))"
    fi
  } >"$dir/result"
}
export -f fuzz_one
export work seconds artifacts bin

printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one "$@"' _ {}

failed=0
for label in "${targets[@]}"; do
  pkg=${label#//}
  name=${pkg#*:}
  pkg=${pkg%%:*}
  result=$work/${pkg//\//_}_$name/result
  if [ -f "$result" ]; then
    sed '1s/^/fuzz: /' "$result"
    head -n 1 "$result" | grep -q '^PASS' || failed=$((failed + 1))
  else
    say "FAIL $label: did not run"
    failed=$((failed + 1))
  fi
done
say "${#targets[@]} targets, $failed failed ($(($(date +%s) - start)) s with the build)"
[ "$failed" -eq 0 ]

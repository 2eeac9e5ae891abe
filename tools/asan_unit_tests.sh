#!/usr/bin/env bash
# The unit tests under --config=asan (ASan + UBSan, Debian's clang 14; the
# build of tools/asan_bazel.sh, which the fuzz targets share): every test
# target outside tests/ that boots no VM (not tagged exclusive; the fuzz
# targets are fuzzed by tools/fuzz.sh instead). Prints one verdict,
#   asan: PASS unit tests under --config=asan (41 test targets)
#   asan: FAIL unit tests under --config=asan: <the failed targets, reports>
# which `./ssi test` counts as one case. Extra arguments go to bazel test.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp "${TMPDIR:-/tmp}/ssivm-asan.XXXXXX")
trap 'tools/asan_bazel.sh shutdown >/dev/null 2>&1 || true; rm -f "$log"' EXIT
command -v clang-14 >/dev/null || {
  echo "asan: FAIL unit tests under --config=asan: clang-14 is not installed (./ssi test installs it)"
  exit 1
}
if tools/asan_bazel.sh test --test_tag_filters=-exclusive,-fuzz --test_output=errors "$@" \
  -- //... -//tests/... >"$log" 2>&1; then
  echo "asan: PASS unit tests under --config=asan ($(grep -cE '^//.* PASSED' "$log" || true) test targets)"
  exit 0
fi
echo "asan: FAIL unit tests under --config=asan:"
grep -E '^//.*(FAILED|TIMEOUT|NO STATUS|INCOMPLETE)|^ERROR:|runtime error:|^SUMMARY: ' "$log" |
  head -n 20 | sed 's/^/    /'
tail -n 2 "$log" | sed 's/^/    /'
exit 1

#!/usr/bin/env bash
# Bazel with --config=asan (ASan + UBSan, clang 14; see .bazelrc) in its own
# output base, so that the normal build's outputs stay as they are:
#   tools/asan_bazel.sh test --test_tag_filters=-exclusive -- //... -//tests/...
#   tools/asan_bazel.sh info bazel-testlogs
# The output base is ~/.cache/ssivm/bazel-asan-<hash of this checkout's path>
# ($SSIVM_ASAN_OUTPUT_BASE overrides); `tools/asan_bazel.sh shutdown` stops
# its server. It makes no bazel-* symlinks (`info bazel-bin`, `info
# bazel-testlogs` say where things are), and `//...` (also inside a query)
# means every source folder: the normal build's bazel-* symlinks point into
# another output base, which this server would otherwise crawl.
set -euo pipefail
cd "$(dirname "$0")/.."
output_base=${SSIVM_ASAN_OUTPUT_BASE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssivm/bazel-asan-$(pwd -P | md5sum | cut -c1-12)}
[ $# -gt 0 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
command=$1
shift

folders=("//:all")
for d in */; do
  d=${d%/}
  [ -L "$d" ] || [ -z "$(find "$d" -name BUILD -print -quit)" ] || folders+=("//$d/...")
done
all=$(printf ' + %s' "${folders[@]}")
args=()
for a in "$@"; do
  if [ "$a" = "//..." ]; then
    args+=("${folders[@]}")
  else
    args+=("${a//\/\/.../(${all:3})}")
  fi
done
case "$command" in
  # Commands that take build options get the config.
  build | test | run | info | cquery | aquery | coverage) args=(--config=asan "${args[@]}") ;;
esac
exec bazel --output_base="$output_base" "$command" "${args[@]}"

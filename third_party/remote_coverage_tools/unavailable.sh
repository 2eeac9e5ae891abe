#!/bin/sh
echo "ssivm builds offline: bazel coverage is not available" >&2
exit 1

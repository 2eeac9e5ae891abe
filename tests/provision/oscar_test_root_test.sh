#!/usr/bin/env bash
# The package's OSCAR test step (testing/test_root) on a temporary root: the
# manifest comes from api-post-clientdef, then a real two-node aggregate
# boots on this host and its workloads must pass.
set -eu
ssictl=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
package=$PWD/provision/oscar/ssivm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"

"$package/scripts/api-post-clientdef" image --root "$root" --nodes "head node[01-02]" \
  --ssictl "$ssictl" > "$tmp/clientdef.out" 2>&1 ||
  { echo "FAIL: api-post-clientdef: $(cat "$tmp/clientdef.out")"; exit 1; }
status=0
"$package/testing/test_root" --root "$root" --ssictl "$ssictl" > "$tmp/out" 2>&1 || status=$?
cat "$tmp/out"
[ "$status" = 0 ] || { echo "FAIL: test_root exited $status"; exit 1; }
grep -q "PASS: manifest valid" "$tmp/out" || { echo "FAIL: manifest not checked"; exit 1; }
grep -q "PASS: two-node aggregate runs its workloads" "$tmp/out" ||
  { echo "FAIL: the aggregate did not run"; exit 1; }

# A broken manifest fails the step, naming the problem.
echo 'epoch = "x"' >> "$root/etc/ssivm/cluster.toml"
"$package/testing/test_root" --root "$root" --ssictl "$ssictl" > "$tmp/out" 2>&1 &&
  { echo "FAIL: test_root passed with a broken manifest"; exit 1; }
grep -q "FAIL: manifest valid" "$tmp/out" || { echo "FAIL: $(cat "$tmp/out")"; exit 1; }
echo "test_root passes on a good cluster and fails on a broken manifest"

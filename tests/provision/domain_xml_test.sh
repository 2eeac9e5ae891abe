#!/usr/bin/env bash
# ssictl domain import / dumpxml: libvirt accepts or rejects (with its own
# message) the domain XML, the manifest follows, and a manifest survives
# dumpxml -> import byte for byte.
set -eu
ssictl=$1
example=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_contains() {  # file text
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(cat "$1")"
}

"$ssictl" domain import "$example" -o "$tmp/c.toml" > "$tmp/out" 2>&1 ||
  fail "import: $(cat "$tmp/out")"
expect_contains "$tmp/out" "<devices> ignored: ssivm does not use it"
expect_contains "$tmp/out" "3 nodes, 6 vCPUs (4 online), 3072 MiB, epoch 1"
expect_contains "$tmp/c.toml" 'address = "10.0.0.2:7400"'
expect_contains "$tmp/c.toml" 'name = "n3"'

# Round trip: dumpxml, then import gives the same manifest bytes.
"$ssictl" dumpxml --manifest "$tmp/c.toml" > "$tmp/dump.xml" || fail "dumpxml"
"$ssictl" domain import "$tmp/dump.xml" -o "$tmp/back.toml" > "$tmp/out" 2>&1 ||
  fail "re-import: $(cat "$tmp/out")"
cmp -s "$tmp/c.toml" "$tmp/back.toml" || fail "round trip changed the manifest: $(diff "$tmp/c.toml" "$tmp/back.toml")"

# Rejected by libvirt: its message, exit 1, nothing written.
sed 's/<vcpu current=.4.>6<\/vcpu>/<vcpu current="4">six<\/vcpu>/' "$example" > "$tmp/bad.xml"
status=0
"$ssictl" domain import "$tmp/bad.xml" -o "$tmp/bad.toml" 2> "$tmp/err" || status=$?
[ "$status" = 1 ] || fail "bad XML exited $status"
expect_contains "$tmp/err" "bad.xml: libvirt: XML document failed to validate against schema"
[ -e "$tmp/bad.toml" ] && fail "wrote a manifest for rejected XML"

# Accepted by libvirt, rejected by ssivm: cells that are not contiguous ranges.
sed "s/cpus='0-1'/cpus='0,2'/; s/cpus='2-3'/cpus='1,3'/" "$example" > "$tmp/split.xml"
"$ssictl" domain import "$tmp/split.xml" -o "$tmp/split.toml" 2> "$tmp/err" &&
  fail "accepted split cells"
expect_contains "$tmp/err" "cell cpus '0,2': an ssivm node hosts one contiguous range of vCPUs"

if [ "$failures" -ne 0 ]; then
  echo "$failures failures" >&2
  exit 1
fi
echo "all checks passed"

#!/usr/bin/env bash
# ssictl manifest new/check and node add/remove, driven through the binary:
# generation is deterministic and idempotent, edits bump the epoch and keep
# ids, and bad input gets exit status 1 with the file, key and problem.
set -eu
ssictl=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_contains() {  # file text
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(cat "$1")"
}

printf '# test cluster\nhead\nnode[01-03]  # compute\n' > nodes
"$ssictl" manifest new --nodes-file nodes -o c.toml --cluster-id lab --vcpus-per-node 2 \
  --memory-per-node 512 --cmdline "console=ttyS0" > out || fail "manifest new: $(cat out)"
expect_contains out "c.toml: 4 nodes, 8 vCPUs, 2048 MiB, epoch 1"
expect_contains c.toml 'name = "node03"'
expect_contains c.toml 'vcpus = { first = 6, last = 7 }'

# Same input: byte-identical output, the file is not even rewritten.
cp c.toml first.toml
touch -d '2001-01-01' c.toml
"$ssictl" manifest new --nodes-file nodes -o c.toml --cluster-id lab --vcpus-per-node 2 \
  --memory-per-node 512 --cmdline "console=ttyS0" > out || fail "second manifest new"
expect_contains out "unchanged"
cmp -s c.toml first.toml || fail "second run changed the manifest"
[ "$(stat -c %Y c.toml)" = "$(date -d 2001-01-01 +%s)" ] || fail "second run rewrote the file"
"$ssictl" manifest new --nodes-file nodes -o other.toml --cluster-id lab --vcpus-per-node 2 \
  --memory-per-node 512 --cmdline "console=ttyS0" > /dev/null
cmp -s other.toml first.toml || fail "generation is not deterministic"

# Different input for an existing file: refused without --update/--force.
if "$ssictl" manifest new --nodes-file nodes -o c.toml --vcpus-per-node 3 2> err; then
  fail "overwrote a different manifest"
fi
expect_contains err "exists and differs"

"$ssictl" manifest check c.toml > out || fail "check of a valid manifest"
expect_contains out "c.toml: valid: cluster lab, epoch 1, 4 nodes, 8 vCPUs (8 online), 2048 MiB"

# node add / remove.
"$ssictl" node add node09 --manifest c.toml > out || fail "node add: $(cat out)"
expect_contains out "added node node09 (id 4, node09:7400, vCPUs 8..9, 512 MiB)"
expect_contains out "The running cluster was NOT told"
"$ssictl" node remove node01 --manifest c.toml > out || fail "node remove"
expect_contains out "node head took over its vCPUs and memory (now vCPUs 0..3, 1024 MiB)"
expect_contains out "The running cluster was NOT told"
expect_contains c.toml "epoch = 3"
grep -q 'name = "node01"' c.toml && fail "node01 still in the manifest"
expect_contains c.toml $'id = 2\nname = "node02"'
if "$ssictl" node remove nosuch --manifest c.toml 2> err; then fail "removed an unknown node"; fi
expect_contains err "no node named 'nosuch' (nodes: head, node02, node03, node09)"

# --update reconciles membership with the list; a second run changes nothing.
printf 'head\nnode[02-03]\nnode09\nnode10\n' > nodes2
"$ssictl" manifest new --nodes-file nodes2 -o c.toml --update --vcpus-per-node 2 \
  --memory-per-node 512 > out || fail "update: $(cat out)"
expect_contains out "added node10 (id 5)"
expect_contains c.toml "epoch = 4"
cp c.toml updated.toml
"$ssictl" manifest new --nodes-file nodes2 -o c.toml --update --vcpus-per-node 2 \
  --memory-per-node 512 > out || fail "second update"
expect_contains out "membership unchanged"
cmp -s c.toml updated.toml || fail "second --update changed the manifest"

# Bad input: exit 1, naming file, line, key and problem.
sed 's/^address = "node02:7400"/address = "node02:99999"/' c.toml > bad.toml
status=0
"$ssictl" manifest check bad.toml 2> err || status=$?
[ "$status" = 1 ] || fail "check of a bad manifest exited $status"
expect_contains err "bad.toml:"
expect_contains err "nodes[1].address: 'node02:99999': port 99999 is out of range 1-65535"
printf 'node[3-1]\n' > badnodes
status=0
"$ssictl" manifest new --nodes-file badnodes -o x.toml 2> err || status=$?
[ "$status" = 1 ] || fail "bad nodes file exited $status"
expect_contains err "badnodes:1: 'node[3-1]': range 3-1 is descending"
[ -e x.toml ] && fail "wrote a manifest from a bad nodes file"

# --cache-mib: every node's cache_mib; left out (automatic) without it; below
# the minimum for the node's vCPUs: exit 1 naming the minimum.
grep -q cache_mib first.toml && fail "cache_mib written without --cache-mib"
"$ssictl" manifest new --nodes-file nodes -o cache.toml --vcpus-per-node 2 --cache-mib 64 \
  > /dev/null || fail "manifest new --cache-mib 64"
[ "$(grep -c '^cache_mib = 64$' cache.toml)" = 4 ] || fail "not every node has cache_mib = 64"
status=0
"$ssictl" manifest new --nodes-file nodes -o small.toml --vcpus-per-node 3 --cache-mib 5 \
  2> err || status=$?
[ "$status" = 1 ] || fail "--cache-mib 5 for 3 vCPUs exited $status"
expect_contains err "--cache-mib 5 MiB is less than the minimum of 6 MiB for the node's 3 vCPUs"
[ -e small.toml ] && fail "wrote a manifest with too small a cache"

if [ "$failures" -ne 0 ]; then
  echo "$failures failures" >&2
  exit 1
fi
echo "all checks passed"

#!/usr/bin/env bash
# The ssivm OSCAR package's scripts, without OSCAR, in a temporary root:
# each does its job, rejects bad input, and running it twice changes nothing
# (same files, contents, modes and modification times).
set -eu
ssictl=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
scripts=$PWD/provision/oscar/ssivm/scripts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_contains() {  # file text
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(cat "$1")"
}
snapshot() {
  (cd "$root" && find . -printf '%p %y %m %s %T@\n' | sort &&
    find . -type f -exec md5sum {} + | sort)
}
# twice NAME COMMAND...: runs the command twice; the second run must change nothing.
twice() {
  local name=$1
  shift
  "$@" > "$tmp/first.out" 2>&1 || { fail "$name (first run): $(cat "$tmp/first.out")"; return; }
  snapshot > "$tmp/before"
  sleep 0.01  # a rewrite would show in the modification times
  "$@" > "$tmp/second.out" 2>&1 || { fail "$name (second run): $(cat "$tmp/second.out")"; return; }
  snapshot > "$tmp/after"
  diff "$tmp/before" "$tmp/after" > "$tmp/diff" || fail "$name is not idempotent: $(cat "$tmp/diff")"
}

# api-post-configure: OSCAR's XML values, then command-line values.
cat > "$tmp/values" <<'XML'
<opt>
  <cluster_id>lab</cluster_id>
  <transport>rdma</transport>
  <vcpus_per_node>2</vcpus_per_node>
  <memory_per_node>2048</memory_per_node>
  <page_size_kib>2048</page_size_kib>
  <cmdline>console=ttyS0 ssi.exit=0</cmdline>
</opt>
XML
twice api-post-configure "$scripts/api-post-configure" --root "$root" --values "$tmp/values"
expect_contains "$tmp/second.out" "unchanged"
expect_contains "$root/etc/ssivm/oscar.conf" "transport='rdma'"
expect_contains "$root/etc/ssivm/oscar.conf" "cmdline='console=ttyS0 ssi.exit=0'"
OSCAR_PACKAGE_HOME=$tmp/pkg
mkdir -p "$OSCAR_PACKAGE_HOME"
cp "$tmp/values" "$OSCAR_PACKAGE_HOME/.configurator.values"
OSCAR_PACKAGE_HOME=$OSCAR_PACKAGE_HOME "$scripts/api-post-configure" --root "$root" \
  > "$tmp/out" 2>&1 || fail "api-post-configure from OSCAR_PACKAGE_HOME: $(cat "$tmp/out")"
expect_contains "$tmp/out" "unchanged"
status=0
"$scripts/api-post-configure" --root "$tmp/other" --set transport=ib --set vcpus_per_node=0 \
  --set memory_per_node=3 --set page_size_kib=2048 > "$tmp/out" 2>&1 || status=$?
[ "$status" = 1 ] || fail "bad values exited $status"
expect_contains "$tmp/out" "transport 'ib': must be tcp or rdma"
expect_contains "$tmp/out" "vcpus_per_node '0': must be a whole number from 1 to 4096"
expect_contains "$tmp/out" "memory_per_node '3' MiB is not a multiple of the page size (2048 KiB)"
[ -e "$tmp/other" ] && fail "bad values wrote files"
echo '<opt><transport>tcp' > "$tmp/broken"
"$scripts/api-post-configure" --root "$tmp/other" --values "$tmp/broken" > "$tmp/out" 2>&1 &&
  fail "accepted broken XML"
expect_contains "$tmp/out" "not well-formed XML"

# client-post-install, with the values api-post-configure stored.
twice client-post-install "$scripts/client-post-install" --root "$root"
expect_contains "$tmp/second.out" "image already prepared (transport rdma, 2048 KiB pages)"
expect_contains "$root/etc/udev/rules.d/90-ssivm-userfaultfd.rules" 'KERNEL=="userfaultfd", GROUP="kvm", MODE="0660"'
expect_contains "$root/etc/sysctl.d/90-ssivm.conf" "vm.nr_hugepages = 1024"
grep -q unprivileged_userfaultfd "$root/etc/sysctl.d/90-ssivm.conf" &&
  fail "opened userfaultfd to every user without being asked"
expect_contains "$root/etc/modules-load.d/ssivm-rdma.conf" "rdma_ucm"
# Other settings: the files follow, still idempotently.
twice client-post-install-tcp "$scripts/client-post-install" --root "$root" --transport tcp \
  --page-size-kib 1048576 --memory-per-node 4096
[ -e "$root/etc/modules-load.d/ssivm-rdma.conf" ] && fail "RDMA modules kept for tcp"
expect_contains "$root/etc/ssivm/kernel-cmdline" "hugepagesz=1G hugepages=4"
[ -e "$root/etc/sysctl.d/90-ssivm.conf" ] && fail "sysctl file kept with nothing to set"
# Old kernels (no /dev/userfaultfd): opened to every user only on request.
twice client-post-install-unpriv "$scripts/client-post-install" --root "$root" \
  --unprivileged-userfaultfd yes
expect_contains "$root/etc/sysctl.d/90-ssivm.conf" "vm.unprivileged_userfaultfd = 1"
"$scripts/client-post-install" --root "$root" --unprivileged-userfaultfd maybe > "$tmp/out" 2>&1 &&
  fail "accepted --unprivileged-userfaultfd maybe"
expect_contains "$tmp/out" "unprivileged userfaultfd 'maybe': must be yes or no"
"$scripts/client-post-install" --root "$root" --transport udp > "$tmp/out" 2>&1 &&
  fail "accepted transport udp"

# api-post-clientdef: the manifest from a node list.
twice api-post-clientdef "$scripts/api-post-clientdef" image --root "$root" \
  --nodes "head node[01-03]" --ssictl "$ssictl"
expect_contains "$tmp/first.out" "4 nodes, 8 vCPUs, 8192 MiB, epoch 1"
expect_contains "$tmp/second.out" "unchanged"
expect_contains "$root/etc/ssivm/cluster.toml" 'cluster_id = "lab"'
expect_contains "$root/etc/ssivm/cluster.toml" 'cmdline = "console=ttyS0 ssi.exit=0"'
"$ssictl" manifest check "$root/etc/ssivm/cluster.toml" > /dev/null || fail "invalid manifest"
# A node added and one deleted in OSCAR: ids stay, epoch + 1, then stable.
printf 'head\nnode01\nnode03\nnode04\n' > "$tmp/nodes"
twice api-post-clientdef-changed "$scripts/api-post-clientdef" image --root "$root" \
  --nodes-file "$tmp/nodes" --ssictl "$ssictl"
expect_contains "$tmp/first.out" "added node04 (id 4)"
expect_contains "$tmp/first.out" "removed node02"
expect_contains "$tmp/first.out" "The running cluster was NOT told"
expect_contains "$root/etc/ssivm/cluster.toml" "epoch = 2"
expect_contains "$root/etc/ssivm/cluster.toml" $'id = 3\nname = "node03"'
"$scripts/api-post-clientdef" image --root "$root" --ssictl "$ssictl" > "$tmp/out" 2>&1 &&
  fail "ran without a node list or OSCAR"
expect_contains "$tmp/out" "no node list"

# api-post-image: the manifest goes into the image (root/image), once.
mkdir -p "$root/image"
twice api-post-image "$scripts/api-post-image" oscarimage "$root/image" --root "$root"
cmp -s "$root/etc/ssivm/cluster.toml" "$root/image/etc/ssivm/cluster.toml" ||
  fail "the image lacks the manifest"
expect_contains "$tmp/second.out" "already has the current manifest"
"$scripts/api-post-image" oscarimage "$root/nosuchdir" --root "$root" > "$tmp/out" 2>&1 &&
  fail "accepted a missing image directory"

# api-post-deploy --dry-run: prints the command, changes nothing.
twice api-post-deploy-dry-run "$scripts/api-post-deploy" --root "$root" --ssictl "$ssictl" --dry-run
expect_contains "$tmp/first.out" "epoch 2, hosts: head node01 node03 node04"
expect_contains "$tmp/first.out" "would run: ssictl up --manifest /etc/ssivm/cluster.toml --detach"
cmp -s "$tmp/first.out" "$tmp/second.out" || fail "api-post-deploy --dry-run printed different plans"

# api-post-deploy: runs `ssictl up --manifest ... --detach` (here a stand-in
# ssictl that records its arguments and answers like the real one; the real
# remote start is //tests/remote:remote_cluster_test).
mkdir -p "$tmp/bin"
cat > "$tmp/bin/ssictl" <<STUB
#!/bin/sh
[ "\$1" = manifest ] && exec "$ssictl" "\$@"
echo "\$*" >> "$tmp/ssictl.calls"
case "\${SSICTL_STUB:-running}" in
  running) echo "ssictl: cluster lab already runs with epoch 2 on all 4 nodes; nothing to do" ;;
  refuse) echo "ssictl: cluster lab is already (partly) running: ...; restarting it is the admin's decision" >&2; exit 1 ;;
  problems) echo "ssictl: cannot start cluster lab: 1 problem(s); nothing was started:" >&2
    echo "  host node03: unreachable (ssh): ssh: connect to host node03 port 22: No route to host" >&2
    exit 125 ;;
esac
STUB
chmod +x "$tmp/bin/ssictl"
twice api-post-deploy "$scripts/api-post-deploy" --root "$root" --ssictl "$tmp/bin/ssictl" -- \
  --ssh-user admin
expect_contains "$tmp/ssictl.calls" "up --manifest $root/etc/ssivm/cluster.toml --detach --ssh-user admin"
expect_contains "$tmp/second.out" "nothing to do"
expect_contains "$tmp/second.out" "api-post-deploy: the aggregate runs (epoch 2)"
for case in refuse:1:"already runs with another membership" problems:125:"host node03: unreachable"; do
  status=0
  SSICTL_STUB=${case%%:*} "$scripts/api-post-deploy" --root "$root" --ssictl "$tmp/bin/ssictl" \
    > "$tmp/out" 2>&1 || status=$?
  expected=${case#*:}
  [ "$status" = "${expected%%:*}" ] || fail "api-post-deploy (${case%%:*}) exited $status: $(cat "$tmp/out")"
  expect_contains "$tmp/out" "${expected#*:}"
  expect_contains "$tmp/out" "NOT started"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures failures" >&2
  exit 1
fi
echo "all checks passed"

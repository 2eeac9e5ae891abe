#!/usr/bin/env bash
# ssictl up|status|down --manifest across "hosts" reached through real ssh:
# network namespaces with their own sshd (tests/support/sshd_hosts.sh). The
# guest boots across hosts and its status comes back; a running cluster is
# reported and stopped; a host missing a prerequisite, or unreachable, is
# named with its problem and nothing starts anywhere.
set -u
# Boots VMs: runs where KVM is (here, or inside the emulated hardware-KVM
# machine, which has network namespaces and sshd too).
[ "${SSIVM_KVM:-}" = host ] || exec tools/hwkvm/hwkvm test -- "$0" "$@"
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
ssictl=$(abs "$1")
ssivm=$(abs "$2")
deploy=$PWD/provision/oscar/ssivm/scripts/api-post-deploy
if [ "$(id -u)" != 0 ]; then
  echo "FAIL: needs root (network namespaces, sshd); run the tests as root"
  exit 1
fi
source "$3"
sshd_hosts_up 3 || exit 1
sshd_hosts_add_bare  # host 3: no sshd
tmp=$SSHD_HOSTS_DIR  # removed by sshd_hosts_down
remote=$tmp/remote   # each host's --remote-dir (the hosts share this file system)
export SSIVM_SSH=$(ssh_cmd)
remote_flags=(--remote-dir "$remote" --remote-ssivm "$ssivm")
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_contains() {  # file text
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2':
$(cat "$1")"
}
expect_status() {  # name expected actual output-file...
  [ "$2" = "$3" ] && return
  fail "$1 exited $3, expected $2:
$(cat "${@:4}")"
}
# Node processes still running in the hosts' namespaces.
nodes_running() {
  local ns pid n=0
  for ns in "${SSHD_HOSTS_NS[@]}"; do
    for pid in $(ip netns pids "$ns"); do
      tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--manifest .* --node " &&
        n=$((n + 1))
    done
  done
  echo $n
}
# manifest FILE CMDLINE MEMORY_MIB HOST... (one node per host, 1 vCPU each)
manifest() {
  local file=$1 cmdline=$2 memory=$3 k=0
  shift 3
  {
    printf 'cluster_id = "rt%s"\nepoch = 1\n[guest]\ncmdline = "%s"\nvcpus_total = %d\n' \
      "$SSHD_HOSTS_TAG" "$cmdline" $#
    for host in "$@"; do
      printf '[[nodes]]\nid = %d\nname = "n%d"\nhost = "%s"\naddress = "%s:7400"\n' \
        $k $k "$host" "$host"
      printf 'vcpus = { first = %d, last = %d }\nmemory_mib = %s\n' $k $k "$memory"
      k=$((k + 1))
    done
  } > "$file"
}
ip=("${SSHD_HOSTS_IP[@]}")
section() { echo "--- [${SECONDS} s] $*"; }

section "a 2-node guest across two hosts runs its workload and returns its status"
manifest "$tmp/two.toml" "ssi.run=counter" 64 "${ip[0]}" "${ip[1]}"
"$ssictl" up --manifest "$tmp/two.toml" "${remote_flags[@]}" < /dev/null > "$tmp/out" 2> "$tmp/err"
expect_status "up (2 nodes)" 0 $? "$tmp/out" "$tmp/err"
expect_contains "$tmp/out" "RESULT counter PASS"
expect_contains "$tmp/out" "all 2 cpus online"
expect_contains "$tmp/err" "ssivm[node 1]: node 0 stopped the VM (status 0)"
expect_contains "$remote/cluster.toml" "kernel = \"$remote/guest-kernel\""
cmp -s "$remote/guest-kernel" "$(dirname "$ssivm")/../guest/kernel" ||
  fail "the pushed kernel differs from the bundled one"

section "a 3-node guest across three hosts exits with the guest's status"
manifest "$tmp/three.toml" "ssi.exit=5" 64 "${ip[0]}" "${ip[1]}" "${ip[2]}"
"$ssictl" up --manifest "$tmp/three.toml" "${remote_flags[@]}" < /dev/null > "$tmp/out" 2> "$tmp/err"
expect_status "up (3 nodes)" 5 $? "$tmp/out" "$tmp/err"
expect_contains "$tmp/out" "all 3 cpus online"
# Node 2 paged memory in (it may see node 1 go before node 0's shutdown
# message reaches it: then it stops with 126, which is the node's business).
expect_contains "$tmp/err" "ssivm[node 2]: dsm: "
[ "$(nodes_running)" = 0 ] || fail "node processes left after the guest stopped"

section "up --detach, status while running, up again (no change), down"
manifest "$tmp/shell.toml" "ssi.shell=1" 64 "${ip[0]}" "${ip[1]}"
"$ssictl" up --manifest "$tmp/shell.toml" --detach "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "up --detach" 0 $? "$tmp/out"
expect_contains "$tmp/out" "is running: 2 nodes"
[ "$(nodes_running)" = 2 ] || fail "expected 2 node processes, found $(nodes_running)"
# The ssh options as flags instead of SSIVM_SSH.
SSIVM_SSH= "$ssictl" status --manifest "$tmp/shell.toml" "${remote_flags[@]}" \
  --identity "$tmp/id" --ssh-option UserKnownHostsFile=/dev/null \
  --ssh-option StrictHostKeyChecking=no --ssh-option LogLevel=ERROR > "$tmp/out" 2>&1
expect_status "status" 0 $? "$tmp/out"
show() { sed 's/^/    | /' "$1"; }  # the output, for the log
show "$tmp/out"
for k in 0 1; do
  grep -qE "^  $k +n$k +${ip[$k]} +running +$k +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+" \
    "$tmp/out" || fail "status lacks node $k running with its DSM numbers: $(cat "$tmp/out")"
done
expect_contains "$tmp/out" "fault latency:"
"$ssictl" status --manifest "$tmp/shell.toml" --json "${remote_flags[@]}" > "$tmp/json" 2>&1
expect_status "status --json" 0 $? "$tmp/json"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert [n["state"] for n in j["nodes"]] == ["running", "running"], j
assert all(n["status"]["epoch"] == 1 and "dsm" in n["status"] for n in j["nodes"]), j
' "$tmp/json" || fail "status --json: $(cat "$tmp/json")"
"$ssictl" up --manifest "$tmp/shell.toml" --detach "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "up --detach again" 0 $? "$tmp/out"
expect_contains "$tmp/out" "already runs with epoch 1 on all 2 nodes; nothing to do"
sed 's/^epoch = 1$/epoch = 2/' "$tmp/shell.toml" > "$tmp/shell2.toml"
"$ssictl" up --manifest "$tmp/shell2.toml" --detach "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "up of another epoch" 1 $? "$tmp/out"
expect_contains "$tmp/out" "the manifest has epoch 2"
expect_contains "$tmp/out" "admin's decision"
"$ssictl" down --manifest "$tmp/shell.toml" "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "down" 0 $? "$tmp/out"
expect_contains "$tmp/out" "node 0 (n0) on ${ip[0]}: stopped"
expect_contains "$tmp/out" "node 1 (n1) on ${ip[1]}: stopped"
[ "$(nodes_running)" = 0 ] || fail "node processes left after down"
"$ssictl" status --manifest "$tmp/shell.toml" "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "status after down" 1 $? "$tmp/out"
expect_contains "$tmp/out" "not running"
"$ssictl" down --manifest "$tmp/shell.toml" "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "down again" 0 $? "$tmp/out"
expect_contains "$tmp/out" "node 1 (n1) on ${ip[1]}: was not running"

section "up --detach of a guest that cannot boot reports the node's log and stops the others"
printf 'not a kernel\n' > "$tmp/junk.elf"
sed 's|^\[guest\]$|[guest]\nkernel = "'"$tmp"'/junk.elf"|' "$tmp/shell.toml" > "$tmp/junk.toml"
"$ssictl" up --manifest "$tmp/junk.toml" --detach "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "up --detach of a bad kernel" 125 $? "$tmp/out"
show "$tmp/out"
expect_contains "$tmp/out" "cluster rt$SSHD_HOSTS_TAG did not start; stopping what did"
expect_contains "$tmp/out" "node 0 (n0) on ${ip[0]}: exited; its log ends: "
[ "$(nodes_running)" = 0 ] || fail "node processes left after a failed detached start"

section "SIGTERM to a foreground up stops every node"
"$ssictl" up --manifest "$tmp/shell.toml" --console none "${remote_flags[@]}" \
  < /dev/null > "$tmp/out" 2> "$tmp/err" &
up_pid=$!
for ((i = 0; i < 300; i++)); do  # up to 60 s
  "$ssictl" status --manifest "$tmp/shell.toml" "${remote_flags[@]}" > /dev/null 2>&1 && break
  sleep 0.2
done
kill -TERM "$up_pid"
wait "$up_pid"
status=$?
[ "$status" = 0 ] || fail "up stopped by SIGTERM exited $status: $(cat "$tmp/err")"
expect_contains "$tmp/err" "stopping cluster rt$SSHD_HOSTS_TAG"
expect_contains "$tmp/err" "stopped by ssictl down"
[ "$(nodes_running)" = 0 ] || fail "node processes left after SIGTERM"

section "OSCAR's api-post-deploy starts the aggregate once; a second run changes nothing"
mkdir -p "$tmp/root/etc/ssivm"
cp "$tmp/shell.toml" "$tmp/root/etc/ssivm/cluster.toml"
"$deploy" --root "$tmp/root" --ssictl "$ssictl" -- "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "api-post-deploy" 0 $? "$tmp/out"
expect_contains "$tmp/out" "is running: 2 nodes"
[ "$(nodes_running)" = 2 ] || fail "api-post-deploy: expected 2 node processes, found $(nodes_running)"
pids_before=$(cat "$remote"/node*.pid)
"$deploy" --root "$tmp/root" --ssictl "$ssictl" -- "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "api-post-deploy again" 0 $? "$tmp/out"
expect_contains "$tmp/out" "nothing to do"
[ "$(cat "$remote"/node*.pid)" = "$pids_before" ] || fail "api-post-deploy restarted nodes"
"$ssictl" down --manifest "$tmp/shell.toml" "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "down after api-post-deploy" 0 $? "$tmp/out"
[ "$(nodes_running)" = 0 ] || fail "node processes left after down"

section "missing prerequisites: every host, every problem, nothing started"
rm -rf "$remote"
manifest "$tmp/big.toml" "ssi.exit=0" 64 "${ip[0]}" "${ip[1]}"
sed -i '0,/^memory_mib = 64$/! s/^memory_mib = 64$/memory_mib = 4194304/' "$tmp/big.toml"
printf '#!/bin/sh\necho "ssivm 9.9.9 protocol 99"\n' > "$tmp/old-ssivm"
chmod +x "$tmp/old-ssivm"
"$ssictl" up --manifest "$tmp/big.toml" --remote-dir "$remote" --remote-ssivm "$tmp/old-ssivm" \
  < /dev/null > "$tmp/out" 2>&1
expect_status "up with missing prerequisites" 125 $? "$tmp/out"
show "$tmp/out"
expect_contains "$tmp/out" "3 problem(s); nothing was started"
expect_contains "$tmp/out" "host ${ip[0]}: $tmp/old-ssivm is 'ssivm 9.9.9 protocol 99', this machine's is '$("$ssivm" --version)'"
expect_contains "$tmp/out" "host ${ip[1]}: $tmp/old-ssivm is 'ssivm 9.9.9 protocol 99'"
expect_contains "$tmp/out" "host ${ip[1]}: not enough free memory"
expect_contains "$tmp/out" "need 4194304 MiB + 128 MiB margin"
grep -q "host ${ip[0]}: not enough" "$tmp/out" && fail "host 0 has enough memory: $(cat "$tmp/out")"
"$ssictl" up --manifest "$tmp/big.toml" --remote-dir "$remote" --remote-ssivm /nonexistent/ssivm \
  < /dev/null > "$tmp/out" 2>&1
expect_status "up without ssivm on the hosts" 125 $? "$tmp/out"
expect_contains "$tmp/out" "host ${ip[0]}: ssivm binary '/nonexistent/ssivm' not found"
sed 's|^\[guest\]$|[guest]\nkernel = "/nonexistent/guest.elf"|' "$tmp/two.toml" > "$tmp/nokernel.toml"
"$ssictl" up --manifest "$tmp/nokernel.toml" "${remote_flags[@]}" < /dev/null > "$tmp/out" 2>&1
expect_status "up without the guest kernel here" 125 $? "$tmp/out"
expect_contains "$tmp/out" "this machine: guest.kernel /nonexistent/guest.elf: No such file or directory"
[ -e "$remote" ] && fail "files were pushed although the checks failed: $(ls -R "$remote")"
[ "$(nodes_running)" = 0 ] || fail "a node started although the checks failed"

section "an unreachable host is named; nothing starts on the others"
manifest "$tmp/gone.toml" "ssi.exit=0" 64 "${ip[0]}" "${ip[3]}"
"$ssictl" up --manifest "$tmp/gone.toml" "${remote_flags[@]}" < /dev/null > "$tmp/out" 2>&1
expect_status "up with an unreachable host" 125 $? "$tmp/out"
show "$tmp/out"
expect_contains "$tmp/out" "host ${ip[3]}: unreachable (ssh"
expect_contains "$tmp/out" "Connection refused"
grep -q "host ${ip[0]}" "$tmp/out" && fail "the reachable host was reported: $(cat "$tmp/out")"
[ -e "$remote" ] && fail "files were pushed although a host is unreachable"
"$ssictl" status --manifest "$tmp/gone.toml" "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "status with an unreachable host" 1 $? "$tmp/out"
grep -qE "^  1 +n1 +${ip[3]} +unreachable" "$tmp/out" || fail "status: $(cat "$tmp/out")"
grep -qE "^  0 +n0 +${ip[0]} +not running" "$tmp/out" || fail "status: $(cat "$tmp/out")"
"$ssictl" down --manifest "$tmp/gone.toml" "${remote_flags[@]}" > "$tmp/out" 2>&1
expect_status "down with an unreachable host" 1 $? "$tmp/out"
show "$tmp/out"
expect_contains "$tmp/out" "node 1 (n1) on ${ip[3]}: host ${ip[3]}: unreachable"

if [ "$failures" -ne 0 ]; then
  echo "$failures failures" >&2
  exit 1
fi
echo "all checks passed"

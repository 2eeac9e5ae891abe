# Test "hosts" reachable through real ssh, on this machine (needs root):
# one network namespace per host, joined by veth pairs to a private bridge,
# each running its own /usr/sbin/sshd on its address with a throwaway host
# key, accepting only a throwaway client key. Source this file from bash:
#
#   source tests/support/sshd_hosts.sh
#   sshd_hosts_up 3          # hosts 0..2 with sshd, plus (no sshd) ...
#   sshd_hosts_add_bare      # ... one more namespace without sshd
#   ssh_cmd                  # prints the ssh command line (SSIVM_SSH=$(ssh_cmd))
#   ${SSHD_HOSTS_IP[1]}      # host 1's address
#   sshd_hosts_down          # removes everything; also runs from the EXIT trap
#
# Names carry a per-run tag (namespaces ssivm-sh-<tag>-<k>, bridge shb<tag>,
# veth shh<tag>n<k>/shp<tag>n<k>), so runs in other worktrees do not collide.
# The bridge has address .254 on this side, so this machine's ssh (and
# ssictl) reaches every host; the subnet is one no route here uses yet.

SSHD_HOSTS_TAG=$(printf '%05x' $(($$ & 0xfffff)))
SSHD_HOSTS_SUBNET="10.234.$(($$ % 250))"
SSHD_HOSTS_BRIDGE="shb$SSHD_HOSTS_TAG"
SSHD_HOSTS_DIR=
SSHD_HOSTS_NS=()
SSHD_HOSTS_IP=()
SSHD_HOSTS_LINKS=()
SSHD_HOSTS_PIDS=()

_sshd_hosts_run() {  # runs a setup command; fails loudly
  "$@" || { echo "sshd_hosts: '$*' failed" >&2; return 1; }
}

# Creates the next namespace (index = number of namespaces so far).
_sshd_hosts_add_ns() {
  local k=${#SSHD_HOSTS_NS[@]}
  local ns="ssivm-sh-$SSHD_HOSTS_TAG-$k" host_end="shh${SSHD_HOSTS_TAG}n$k"
  local ns_end="shp${SSHD_HOSTS_TAG}n$k" ip="$SSHD_HOSTS_SUBNET.$((k + 1))"
  _sshd_hosts_run ip netns add "$ns" || return 1
  SSHD_HOSTS_NS+=("$ns")
  _sshd_hosts_run ip link add "$host_end" type veth peer name "$ns_end" || return 1
  SSHD_HOSTS_LINKS+=("$host_end")
  _sshd_hosts_run ip link set "$host_end" master "$SSHD_HOSTS_BRIDGE" &&
    _sshd_hosts_run ip link set "$host_end" up &&
    _sshd_hosts_run ip link set "$ns_end" netns "$ns" &&
    _sshd_hosts_run ip -n "$ns" link set lo up &&
    _sshd_hosts_run ip -n "$ns" link set "$ns_end" name eth0 &&
    _sshd_hosts_run ip -n "$ns" addr add "$ip/24" dev eth0 &&
    _sshd_hosts_run ip -n "$ns" link set eth0 up || return 1
  SSHD_HOSTS_IP+=("$ip")
}

# ssh command line that logs into the hosts (no known_hosts, batch mode).
# One connection per host is kept and shared (ControlMaster): a key exchange
# costs 15-20 s inside the emulated hardware-KVM machine.
ssh_cmd() {
  echo "ssh -i $SSHD_HOSTS_DIR/id -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no" \
    "-o LogLevel=ERROR -o ControlMaster=auto -o ControlPath=$SSHD_HOSTS_DIR/cm-%C" \
    "-o ControlPersist=600"
}

# sshd_hosts_up N: N hosts, each with sshd answering on its address.
sshd_hosts_up() {
  local count=$1 k
  [ "$(id -u)" = 0 ] || { echo "sshd_hosts: needs root (network namespaces)" >&2; return 1; }
  [ -x /usr/sbin/sshd ] || { echo "sshd_hosts: /usr/sbin/sshd missing (openssh-server)" >&2; return 1; }
  trap sshd_hosts_down EXIT
  SSHD_HOSTS_DIR=$(mktemp -d /tmp/sshd-hosts.XXXXXX)
  ssh-keygen -q -t ed25519 -N '' -C ssivm-test-host -f "$SSHD_HOSTS_DIR/host_key" &&
    ssh-keygen -q -t ed25519 -N '' -C ssivm-test-client -f "$SSHD_HOSTS_DIR/id" || return 1
  cp "$SSHD_HOSTS_DIR/id.pub" "$SSHD_HOSTS_DIR/authorized_keys"
  mkdir -p /run/sshd  # sshd's privilege separation directory (empty; the package makes it too)
  local third=$(($$ % 250)) n
  for ((n = 0; n < 250; n++)); do
    ip route show | grep -q "^10\.234\.$third\." || break
    third=$(((third + 1) % 250))
  done
  SSHD_HOSTS_SUBNET="10.234.$third"
  _sshd_hosts_run ip link add "$SSHD_HOSTS_BRIDGE" type bridge || return 1
  _sshd_hosts_run ip addr add "$SSHD_HOSTS_SUBNET.254/24" dev "$SSHD_HOSTS_BRIDGE" || return 1
  _sshd_hosts_run ip link set "$SSHD_HOSTS_BRIDGE" up || return 1
  for ((k = 0; k < count; k++)); do
    _sshd_hosts_add_ns || return 1
    cat > "$SSHD_HOSTS_DIR/sshd_config.$k" <<CONF
ListenAddress ${SSHD_HOSTS_IP[$k]}
HostKey $SSHD_HOSTS_DIR/host_key
PidFile $SSHD_HOSTS_DIR/sshd.$k.pid
AuthorizedKeysFile $SSHD_HOSTS_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
PrintMotd no
LogLevel ERROR
CONF
    # The hosts' node processes keep this machine's vCPU CPUs (the emulated
    # machine sets them: docs/emulated-machine.md), as a host's admin would.
    if [ -n "${SSIVM_VCPU_CPUS:-}" ]; then
      echo "SetEnv SSIVM_VCPU_CPUS=$SSIVM_VCPU_CPUS" >> "$SSHD_HOSTS_DIR/sshd_config.$k"
    fi
    ip netns exec "${SSHD_HOSTS_NS[$k]}" /usr/sbin/sshd -D -f "$SSHD_HOSTS_DIR/sshd_config.$k" \
      -E "$SSHD_HOSTS_DIR/sshd.$k.log" &
    SSHD_HOSTS_PIDS+=($!)
  done
  # Wait (sleeping, at most ~120 s in all: slow in the emulated machine)
  # until every sshd lets us in; this also opens the shared connections.
  local deadline=$((SECONDS + 120))

  for ((k = 0; k < count; k++)); do
    while :; do
      $(ssh_cmd) -o BatchMode=yes -o ConnectTimeout=5 "${SSHD_HOSTS_IP[$k]}" true 2>/dev/null && break
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "sshd_hosts: sshd on ${SSHD_HOSTS_IP[$k]} never answered:" >&2
        cat "$SSHD_HOSTS_DIR/sshd.$k.log" >&2
        return 1
      fi
      sleep 0.2
    done
  done
}

# One more namespace on the bridge, without sshd: an unreachable host.
sshd_hosts_add_bare() {
  _sshd_hosts_add_ns
}

sshd_hosts_down() {
  local ns pid link ip
  # The shared client connections (their master processes run here).
  for ip in "${SSHD_HOSTS_IP[@]}"; do $(ssh_cmd) -O exit "$ip" >/dev/null 2>&1; done
  for pid in "${SSHD_HOSTS_PIDS[@]}"; do kill "$pid" 2>/dev/null; done

  # Whatever still runs in our namespaces (sessions, node processes) is ours.
  for ns in "${SSHD_HOSTS_NS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  for pid in "${SSHD_HOSTS_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  # Deleting a namespace frees its veth later, in the background: delete each
  # pair explicitly so that the names are free at once.
  for link in "${SSHD_HOSTS_LINKS[@]}"; do ip link del "$link" 2>/dev/null; done
  for ns in "${SSHD_HOSTS_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  ip link del "$SSHD_HOSTS_BRIDGE" 2>/dev/null
  [ -n "$SSHD_HOSTS_DIR" ] && rm -rf "$SSHD_HOSTS_DIR"
  SSHD_HOSTS_PIDS=() SSHD_HOSTS_NS=() SSHD_HOSTS_LINKS=() SSHD_HOSTS_IP=() SSHD_HOSTS_DIR=
  return 0
}

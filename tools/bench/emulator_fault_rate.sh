#!/usr/bin/env bash
# How often the emulated hardware-KVM machine's fault hits a 2-node guest, with
# the guest's vCPU threads pinned to one of the machine's CPUs (the default)
# and spread over all of them, alternating run by run for MINUTES. Each run
# boots a fresh machine (`ssictl up --kvm emulated --nodes 2`). Prints JSON:
# runs, passed, and failures by kind (triple fault, silent machine, other).
# A measurement, not a test; build first (`bazel build //tools/ssictl`).
#   tools/bench/emulator_fault_rate.sh [MINUTES (default 20)]
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-20}
[[ "$minutes" =~ ^[1-9][0-9]*$ ]] || { echo "emulator_fault_rate: MINUTES must be a whole number >= 1, not '$minutes'" >&2; exit 2; }
ssictl=bazel-bin/tools/ssictl/ssictl
[ -x "$ssictl" ] || { echo "emulator_fault_rate: build //tools/ssictl first" >&2; exit 2; }
export SSIVM_HWKVM_CACHE=${SSIVM_HWKVM_CACHE:-$PWD/.cache/hwkvm}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
declare -A runs passed triple silent other
for v in pinned spread; do runs[$v]=0 passed[$v]=0 triple[$v]=0 silent[$v]=0 other[$v]=0; done
end=$(($(date +%s) + minutes * 60))
while [ "$(date +%s)" -lt "$end" ]; do
  for v in pinned spread; do
    if [ "$v" = spread ]; then export SSIVM_VCPU_CPUS=0-1; else unset SSIVM_VCPU_CPUS; fi
    rc=0
    timeout -k 10 300 "$ssictl" up --kvm emulated --nodes 2 \
      --cmdline ssi.run=counter:4:20000:1000,memtest:2 </dev/null >"$log" 2>&1 || rc=$?
    runs[$v]=$((runs[$v] + 1))
    if [ $rc -eq 0 ]; then
      passed[$v]=$((passed[$v] + 1))
    elif grep -q "guest triple fault" "$log"; then
      triple[$v]=$((triple[$v] + 1))
    elif grep -q "said nothing for" "$log"; then
      silent[$v]=$((silent[$v] + 1))
    else
      other[$v]=$((other[$v] + 1))
      echo "emulator_fault_rate: $v run ${runs[$v]} failed (status $rc):" >&2
      tail -5 "$log" >&2
    fi
    echo "emulator_fault_rate: $v: ${passed[$v]} of ${runs[$v]} passed" >&2
  done
done
printf '{"benchmark": "emulator_fault_rate", "minutes": %s, "guest": "2 nodes x 1 vCPU, counter+memtest"' "$minutes"
for v in pinned spread; do
  printf ', "%s": {"runs": %s, "passed": %s, "triple_faults": %s, "silent_machines": %s, "other_failures": %s}' \
    "$v" "${runs[$v]}" "${passed[$v]}" "${triple[$v]}" "${silent[$v]}" "${other[$v]}"
done
printf '}\n'

#!/bin/sh
# /init of the Linux test guest (an unmodified Debian kernel booted by ssivm).
# Prints one marker line with what the guest sees, then, by the kernel command
# line: ssivm.workloads=1 runs the workloads below; ssivm.test=poweroff powers
# off at once; otherwise a login shell runs on the serial console (ttyS0) and
# powers the machine off when it ends.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
# Highest end of "System RAM" in the firmware (e820) map, in MiB.
mem_end=0
for d in /sys/firmware/memmap/*; do
    [ "$(cat "$d/type" 2>/dev/null)" = "System RAM" ] || continue
    end=$(($(cat "$d/end") + 1))
    [ "$end" -gt "$mem_end" ] && mem_end=$end
done
echo "SSIVM_LINUX_INIT_REACHED nproc=$(nproc) mem_end_mib=$((mem_end >> 20))" \
     "memtotal_kib=$(awk '/^MemTotal/{print $2}' /proc/meminfo) kernel=$(uname -r)" \
     "uptime=$(cut -d' ' -f1 /proc/uptime)"

# Runs one workload: its output (progress drawn with backspaces left out),
# then one result line: SSIVM_LINUX_WORKLOAD NAME status=S seconds=T.
workload() {  # NAME COMMAND...
    name=$1
    shift
    start=$(cut -d' ' -f1 /proc/uptime)
    "$@" >/tmp/workload.out 2>&1
    status=$?
    sed "s/: .*$(printf '\b')/: /" /tmp/workload.out
    echo "SSIVM_LINUX_WORKLOAD $name status=$status" \
         "seconds=$(awk -v s="$start" '{printf "%.1f", $1 - s}' /proc/uptime)"
    [ "$status" -eq 0 ] || workloads_failed=$((workloads_failed + 1))
}

# Debian's self-checking programs (the initramfs holds them when built with
# --workloads): NUMA nodes as the guest sees them, stress-ng stressors that
# verify their results on every CPU (memory patterns, futexes, pthread
# mutexes, Dekker's and Peterson's algorithms over shared memory), and
# memtester on node 0's memory from node 0's CPUs. Small and brief: the
# emulated machine is ~100x slower than hardware.
run_workloads() {
    workloads_failed=0
    n=$(nproc)
    workload numactl numactl -H
    workload stress-ng stress-ng --verify --timeout 10s --metrics-brief \
        --vm "$n" --vm-bytes 4M --futex "$n" --mutex "$n" --dekker "$n" --peterson "$n"
    workload memtester numactl --cpunodebind=0 --membind=0 memtester 16M 1
    echo "SSIVM_LINUX_WORKLOADS_DONE failed=$workloads_failed"
}

cmdline=" $(cat /proc/cmdline) "
case $cmdline in
*" ssivm.workloads=1 "*)
    run_workloads ;;
esac
case $cmdline in
*" ssivm.test=poweroff "*)
    poweroff -f ;;
*" ssivm.test=reboot "*)
    reboot -f ;;
esac
echo "SSIVM_LINUX_SHELL_READY"
# A login shell with ttyS0 as its controlling terminal.
setsid sh -c 'exec sh -l <>/dev/ttyS0 >&0 2>&1'
poweroff -f

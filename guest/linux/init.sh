#!/bin/sh
# /init of the Linux test guest (an unmodified Debian kernel booted by ssivm).
# Prints one marker line with what the guest sees, then, by the kernel command
# line: ssivm.test=poweroff powers off at once; otherwise a login shell runs on
# the serial console (ttyS0) and powers the machine off when it ends.
export PATH=/bin:/sbin
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
case " $(cat /proc/cmdline) " in
*" ssivm.test=poweroff "*)
    poweroff -f ;;
*" ssivm.test=reboot "*)
    reboot -f ;;
esac
echo "SSIVM_LINUX_SHELL_READY"
# A login shell with ttyS0 as its controlling terminal.
setsid sh -c 'exec sh -l <>/dev/ttyS0 >&0 2>&1'
poweroff -f

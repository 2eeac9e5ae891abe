#!/bin/sh
# /init of the hwkvm test machine (L1: Debian kernel under QEMU TCG with an
# emulated SVM CPU). Loads KVM, runs /job/run.sh between two marker lines that
# tools/hwkvm/hwkvm.py looks for, and powers off.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
# Transparent huge pages back guest RAM well (fewer nested page walks).
echo always > /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null
for m in $(cat /etc/kvm-modules); do
    insmod "/lib/modules/$m" || echo "hwkvm-l1: insmod $m failed"
done
[ -c /dev/kvm ] || echo "hwkvm-l1: /dev/kvm is missing"
cd /tmp
echo HWKVM_JOB_BEGIN
sh /job/run.sh </dev/null
echo "HWKVM_JOB_STATUS=$?"
poweroff -f

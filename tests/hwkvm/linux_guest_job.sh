#!/bin/sh
# Runs inside the hwkvm machine (L1, hardware-style KVM): boots the Debian
# kernel (/l2/bzImage) with guest/linux's initramfs through ssivm several ways.
# Each run's output is framed by "=== RUN name" and "=== RC name status" for
# linux_guest_test.py to check.
K=/l2/bzImage
I=/l2/initrd.cpio

run() { # name, ssivm args...
    name=$1; shift
    echo "=== RUN $name"
    ssivm "$@" </dev/null 2>&1
    echo "=== RC $name $?"
}

# 1 vCPU: boots to the init marker and powers off at once.
run boot1 --kernel $K --initrd $I --vcpus 1 --memory 256 \
    --cmdline "console=ttyS0 quiet ssivm.test=poweroff"

# 2 vCPUs: the login shell on ttyS0 runs a typed command, then powers off.
echo "=== RUN shell2"
mkfifo /tmp/in
ssivm --kernel $K --initrd $I --vcpus 2 --memory 384 --cmdline "console=ttyS0 quiet" \
    </tmp/in >/tmp/out 2>&1 &
pid=$!
exec 3>/tmp/in
i=0
while ! grep -q SSIVM_LINUX_SHELL_READY /tmp/out && [ $i -lt 1500 ]; do sleep 0.2; i=$((i + 1)); done
sleep 0.5
echo 'echo TYPED_$((6*7)) on $(tty)' >&3
i=0
while ! grep -q TYPED_42 /tmp/out && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
echo 'poweroff -f' >&3
wait $pid
rc=$?
exec 3>&-
cat /tmp/out
echo "=== RC shell2 $rc"

# Reboot: ssivm does not reboot guests; it stops with its reboot status.
run reboot1 --kernel $K --initrd $I --vcpus 1 --memory 128 \
    --cmdline "console=ttyS0 quiet ssivm.test=reboot"

# A corrupted (truncated) bzImage is refused before any vCPU runs.
head -c 3000000 $K > /tmp/truncated.bzImage
run corrupt --kernel /tmp/truncated.bzImage --initrd $I --vcpus 1 --memory 128

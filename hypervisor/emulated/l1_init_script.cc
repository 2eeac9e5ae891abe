// /init of the emulated machine: busybox sh, before the host's files are
// there. Progress lines start with "hwkvm-l1:" (the supervisor shows them);
// a failure powers the machine off, and the supervisor reports the console.
#include "hypervisor/emulated/l1_initramfs.h"

namespace ssivm::emulated {

const char kL1InitScript[] = R"sh(#!/bin/busybox sh
B=/bin/busybox
say() { echo "hwkvm-l1: $*"; }
fail() { say "FAILED: $*"; $B sync; $B poweroff -f; }
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
. /etc/hwkvm/config
for m in $($B cat /etc/hwkvm/modules); do
  $B insmod "/lib/modules/$m" || fail "insmod $m"
done
# The host's root, read-only, under a tmpfs that takes L1's writes.
$B mkdir -p /host /upper /newroot
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /host ||
  fail "mounting the host's files (9p)"
$B mount -t tmpfs -o mode=0755 upper /upper
$B mkdir -p /upper/data /upper/work
$B mount -t overlay -o lowerdir=/host,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
  fail "overlay over the host's files"
# Nothing of the host's runtime state shows through (/run: sockets, pid
# files, network namespaces), nor what the run keeps private.
$B mount -t tmpfs -o mode=0755 run /newroot/run
while read -r path; do
  [ -n "$path" ] || continue
  $B mkdir -p "/newroot$path"
  $B mount -t tmpfs -o mode=0755 private "/newroot$path" || fail "tmpfs on $path"
done < /etc/hwkvm/private
while read -r tag path; do
  [ -n "$tag" ] || continue
  $B mkdir -p "/newroot$path"
  $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "$tag" "/newroot$path" ||
    fail "mounting $path read-write (9p)"
done < /etc/hwkvm/shares
# This kernel's modules where modprobe looks, and modprobe for the kernel.
$B mkdir -p "/newroot/lib/modules/$RELEASE" /newroot/run/hwkvm
$B mount --bind "/newroot$MODULES" "/newroot/lib/modules/$RELEASE" || fail "binding $MODULES"
$B ln -s "$BUSYBOX" /newroot/run/hwkvm/modprobe
echo /run/hwkvm/modprobe > /proc/sys/kernel/modprobe
$B mount --move /dev /newroot/dev
$B mount --move /sys /newroot/sys
$B mount --move /proc /newroot/proc
say "host files mounted"
eval "exec \$B switch_root /newroot \"\$AGENT\" $AGENT_ARGS"
fail "starting the agent $AGENT"
)sh";

}  // namespace ssivm::emulated

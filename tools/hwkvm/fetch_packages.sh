#!/bin/bash
# Downloads (apt-get download, nothing installed) and unpacks the Debian
# packages the hardware-KVM test machine is built from: the current kernel
# image package (L1 kernel, its kvm/kvm-amd modules, and the L2 test guest's
# kernel) and busybox-static. Idempotent: reuses .debs and unpacked trees in
# CACHE_DIR. A new kernel package (new name) is downloaded when apt points at
# it; delete CACHE_DIR/debs to pick up a newer busybox-static.
#
# Usage: tools/hwkvm/fetch_packages.sh CACHE_DIR
# Prints two lines:  kernel_root=DIR  busybox=FILE
# Needs apt's package lists (`apt-get update`) to be present.
set -euo pipefail

die() { echo "fetch_packages.sh: $*" >&2; exit 1; }
[[ $# -eq 1 ]] || die "usage: tools/hwkvm/fetch_packages.sh CACHE_DIR"
mkdir -p "$1/debs" "$1/pkgs" || die "cannot create $1"
cache=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)

deps=$(apt-cache depends linux-image-amd64 2>/dev/null) ||
  die "apt-cache depends linux-image-amd64 failed (run 'apt-get update' first?)"
kpkg=$(awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' <<<"$deps")
[[ -n "$kpkg" ]] || die "linux-image-amd64 depends on no linux-image-<version> package"

shopt -s nullglob
fetch() { # package -> path of its .deb
  local pkg=$1 debs
  debs=("$cache/debs/${pkg}"_*.deb)
  if [[ ${#debs[@]} -eq 0 ]]; then
    # The loader tests' cache may hold the same kernel package already.
    local shared=("$repo/.cache/test-kernel/${pkg}"_*.deb)
    if [[ ${#shared[@]} -gt 0 ]]; then
      ln -f "${shared[-1]}" "$cache/debs/" 2>/dev/null || cp "${shared[-1]}" "$cache/debs/"
    else
      (cd "$cache/debs" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
    fi
    debs=("$cache/debs/${pkg}"_*.deb)
    [[ ${#debs[@]} -gt 0 ]] || die "apt-get download $pkg left no .deb in $cache/debs"
  fi
  echo "${debs[-1]}"
}
unpack() { # .deb -> directory it is unpacked in
  local deb=$1 dir
  dir="$cache/pkgs/$(basename "$deb" .deb)"
  if [[ ! -e "$dir/.done" ]]; then
    rm -rf "$dir"
    dpkg-deb -x "$deb" "$dir" || die "cannot unpack $deb"
    touch "$dir/.done"
  fi
  echo "$dir"
}

kdir=$(unpack "$(fetch "$kpkg")")
bdir=$(unpack "$(fetch busybox-static)")
[[ -x "$bdir/bin/busybox" ]] || die "busybox-static has no bin/busybox"
echo "kernel_root=$kdir"
echo "busybox=$bdir/bin/busybox"

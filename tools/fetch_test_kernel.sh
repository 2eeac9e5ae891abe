#!/bin/bash
# Prints the path of a real Linux bzImage for the loader tests
# (hypervisor/x86:real_bzimage_test), extracted from Debian's current kernel
# image package. Nothing is installed: the .deb is downloaded into CACHE_DIR
# and only its /boot/vmlinuz-* is unpacked there. Idempotent: a second run
# reuses the .deb and the extracted file.
#
# Usage: tools/fetch_test_kernel.sh CACHE_DIR
# Needs apt's package lists (`apt-get update`) to be present.
set -euo pipefail

die() {
  echo "fetch_test_kernel.sh: $*" >&2
  exit 1
}

[[ $# -eq 1 ]] || die "usage: tools/fetch_test_kernel.sh CACHE_DIR"
cache_dir=$1
mkdir -p "$cache_dir" || die "cannot create cache directory $cache_dir"
cache_dir=$(cd "$cache_dir" && pwd) || die "cannot enter cache directory $1"

# The versioned package the meta-package points at, e.g. linux-image-6.1.0-56-amd64.
deps=$(apt-cache depends linux-image-amd64 2>/dev/null) ||
  die "apt-cache depends linux-image-amd64 failed (run 'apt-get update' first?)"
pkg=$(awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' <<<"$deps")
[[ -n "$pkg" ]] ||
  die "linux-image-amd64 depends on no linux-image-<version> package (run 'apt-get update' first?)"

# The .deb: reuse one already downloaded (apt-get names it PKG_VERSION_ARCH.deb).
shopt -s nullglob
debs=("$cache_dir/${pkg}"_*.deb)
if [[ ${#debs[@]} -eq 0 ]]; then
  (cd "$cache_dir" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
  debs=("$cache_dir/${pkg}"_*.deb)
  [[ ${#debs[@]} -gt 0 ]] || die "apt-get download $pkg left no .deb in $cache_dir"
fi
deb=${debs[-1]}

# vmlinuz names the kernel release, which is the package name without "linux-image-".
release=${pkg#linux-image-}
out="$cache_dir/vmlinuz-$release"
if [[ ! -s "$out" ]]; then
  tmp=$(mktemp -d "$cache_dir/extract.XXXXXX") || die "cannot create a temporary directory"
  trap 'rm -rf "$tmp"' EXIT
  # dpkg -x unpacks everything; unpack the data archive's one member instead.
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./boot/vmlinuz-$release" ||
    die "cannot extract ./boot/vmlinuz-$release from $deb"
  [[ -s "$tmp/boot/vmlinuz-$release" ]] || die "$deb has no ./boot/vmlinuz-$release"
  mv "$tmp/boot/vmlinuz-$release" "$out.part" && mv "$out.part" "$out" ||
    die "cannot move the kernel to $out"
fi
echo "$out"

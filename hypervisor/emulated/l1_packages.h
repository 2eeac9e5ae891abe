// The Debian packages the emulated machine is made of, kept unpacked in a
// cache directory: the current Debian kernel (L1's kernel and modules, and
// the Linux test guest's kernel) and busybox-static (L1's early init); and
// the Linux test guest's workloads with their libraries. Fetched by name with `apt-get download`
// and unpacked with `dpkg-deb -x`; nothing is installed.
#ifndef SSIVM_HYPERVISOR_EMULATED_L1_PACKAGES_H_
#define SSIVM_HYPERVISOR_EMULATED_L1_PACKAGES_H_

#include <functional>
#include <string>
#include <vector>

namespace ssivm::emulated {

struct L1Packages {
  std::string kernel_root;  // the unpacked linux-image package
  std::string release;      // e.g. 6.1.0-57-amd64
  std::string vmlinuz;      // kernel_root/boot/vmlinuz-<release>
  std::string modules_dir;  // kernel_root/lib/modules/<release>, with modules.dep
  std::string busybox;      // a static busybox binary
};

// $SSIVM_HWKVM_CACHE, else $XDG_CACHE_HOME/ssivm/hwkvm, else
// ~/.cache/ssivm/hwkvm.
std::string DefaultCacheDir();

using ProgressFn = std::function<void(const std::string&)>;

// Finds the packages in `cache`, fetching and unpacking what is missing
// (unless `offline`), and writes modules.dep (busybox depmod). With apt's
// package lists present the kernel is the one linux-image-amd64 points at
// now; offline, the newest one in the cache. Safe against concurrent
// callers (a lock file). Throws Error saying what is missing and how to get it.
L1Packages PrepareL1Packages(const std::string& cache, bool offline, const ProgressFn& progress);

// The Debian packages of the Linux test guest's self-checking workloads
// (stress-ng, memtester, numactl) and of every shared library they load:
// what `readelf -d` of the binaries and of those libraries names, resolved
// by hand for Debian 12. guest/linux/initramfs.py takes the binaries and
// libraries from them and names any library that none of them holds.
const std::vector<std::string>& GuestWorkloadPackages();

// The unpacked directory of each of GuestWorkloadPackages() in `cache`, in
// that order, fetching and unpacking what is missing (unless `offline`).
// Throws Error naming the packages that are missing.
std::vector<std::string> PrepareGuestWorkloadPackages(const std::string& cache, bool offline,
                                                      const ProgressFn& progress);

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_L1_PACKAGES_H_

// The emulated machine's initramfs, built for each run (a few MiB, in
// milliseconds): busybox and an init script that loads the virtio and 9p
// modules, mounts the host's root read-only under a tmpfs overlay (so L1
// sees the host's files at the same paths, and its writes are thrown
// away), mounts the read-write shares over it, and hands over to the agent.
#ifndef SSIVM_HYPERVISOR_EMULATED_L1_INITRAMFS_H_
#define SSIVM_HYPERVISOR_EMULATED_L1_INITRAMFS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "hypervisor/emulated/l1_packages.h"
#include "hypervisor/emulated/qemu_command.h"

namespace ssivm::emulated {

// Modules L1 needs before it can see the host's files (and its channel).
std::vector<std::string> EarlyModules();

struct L1Boot {
  std::string agent;  // absolute path of the agent program (the same on host and L1)
  std::vector<std::string> agent_args;
  std::vector<Share> rw_shares;  // mounted at their host_path inside L1
  // Directories that start empty inside (a tmpfs), hiding the host's.
  std::vector<std::string> private_dirs;
};

std::vector<uint8_t> BuildL1Initramfs(const L1Packages& packages, const L1Boot& boot);

// The init script (exposed for tests).
extern const char kL1InitScript[];

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_L1_INITRAMFS_H_

// One node's VM: KVM, guest RAM, the loaded kernel, devices and vCPU threads;
// in a cluster, also its ClusterRuntime (the DSM and the link to its peers).
#ifndef SSIVM_HYPERVISOR_NODE_MACHINE_H_
#define SSIVM_HYPERVISOR_NODE_MACHINE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hypervisor/kvm/host_kind.h"
#include "hypervisor/node/cluster_role.h"
#include "hypervisor/node/console.h"

namespace ssivm {

struct MachineConfig {
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  uint32_t vcpus = 1;
  uint64_t memory_mib = 256;
  ConsoleSpec console;
  std::optional<HostKind> host_kind;  // nullopt: detect
  std::string kvm_path = "/dev/kvm";
  std::string control_path;    // control socket (ssictl status/down); empty: none
  std::vector<int> vcpu_cpus;  // host CPUs the vCPU threads run on; empty: any
  // Set when this process is one node of a multi-node guest.
  std::optional<ClusterRole> cluster;
};

struct MachineResult {
  int status;           // what the ssivm process exits with
  std::string message;  // why it stopped (empty for a plain guest power-off)
  bool error;
  uint64_t exits;  // vCPU exits handled in user space, all vCPUs
};

// Checks everything about the guest that needs no KVM (sizes, host memory,
// kernel and initrd images, command line, boot info): throws Error naming
// the problem. RunMachine does the same first, before it opens KVM.
struct GuestCheck {
  bool needs_hardware_kvm = false;  // a Linux bzImage: PVM cannot run it
};
GuestCheck ValidateGuest(const MachineConfig& config);

// Builds the VM (throws Error naming the problem: bad image, missing KVM
// capability, not enough memory, ...), runs it until the guest powers off,
// crashes, or SIGINT/SIGTERM arrives, and tears everything down.
MachineResult RunMachine(const MachineConfig& config,
                         std::chrono::steady_clock::time_point process_start);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_MACHINE_H_

// The NUMA layout a guest spanning several cluster nodes sees (ACPI SRAT and
// SLIT): one proximity domain per cluster node, numbered as the guest numbers
// its nodes (0..N-1), holding the vCPUs that node runs and the RAM it is home
// of.
#ifndef SSIVM_HYPERVISOR_NODE_CLUSTER_NUMA_H_
#define SSIVM_HYPERVISOR_NODE_CLUSTER_NUMA_H_

#include <cstdint>
#include <span>
#include <vector>

#include "guest/abi/boot_info.h"
#include "hypervisor/x86/acpi.h"

namespace ssivm {

// The SLIT distance between two different cluster nodes. A remote page fault
// costs thousands of local accesses, which no SLIT byte expresses; Linux only
// ranks nodes by it and compares it with RECLAIM_DISTANCE (30). Beyond that a
// node is remote enough that the scheduler stops balancing forks, execs and
// wake-ups across to it and node reclaim frees local pages rather than reclaim
// there: what a cluster wants, hence 40.
inline constexpr uint8_t kRemoteNodeDistance = 40;

// The D x D distance matrix of `nodes` cluster nodes: kAcpiLocalDistance on the
// diagonal, kRemoteNodeDistance everywhere else.
std::vector<std::vector<uint8_t>> ClusterNodeDistances(uint32_t nodes);

// From what the boot info holds: `homes` (each RAM range's guest node) and
// `vcpu_node` (index: vCPU, which is its APIC id). Fewer than 2 nodes: no
// domains (a single node needs no SRAT). Throws Error for a node number not
// below `node_count`.
AcpiNuma ClusterNuma(uint32_t node_count, std::span<const abi::MemRange> homes,
                     std::span<const uint8_t> vcpu_node);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CLUSTER_NUMA_H_

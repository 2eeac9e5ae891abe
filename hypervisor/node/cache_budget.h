// A cluster node's cache budget (the manifest's `cache_mib`): how much guest
// RAM homed on other nodes it may keep resident, and whether its host has the
// memory for all the node holds. Pure logic: the caller reads MemAvailable.
#ifndef SSIVM_HYPERVISOR_NODE_CACHE_BUDGET_H_
#define SSIVM_HYPERVISOR_NODE_CACHE_BUDGET_H_

#include <cstdint>
#include <optional>

namespace ssivm {

// What one cluster node keeps resident, in MiB.
struct NodeMemory {
  uint64_t home_mib = 0;     // the guest RAM it is home of (its contribution)
  uint64_t private_mib = 0;  // boot and node-private regions, replicated kernel and initrd
  uint64_t remote_mib = 0;   // guest RAM homed on the other nodes: a cache beyond it is useless
  uint64_t explicit_cache_mib = 0;  // the manifest's cache_mib; 0: automatic
  uint32_t vcpus = 1;               // the vCPUs it hosts
  // What it holds whatever the cache.
  uint64_t must_hold_mib() const { return home_mib + private_mib; }
};

// What an automatic cache leaves the host: max(256 MiB, 10% of available).
uint64_t HostReserveMib(uint64_t available_mib);

// The effective budget in MiB. Explicit: as given. Automatic: what the host
// can spare, min(remote, available - must hold - HostReserveMib), never
// below provision::MinCacheMib(vcpus) (CheckNodeMemory then refuses);
// available unknown: the remote RAM (never below the minimum).
uint64_t CacheBudgetMib(const NodeMemory& node, std::optional<uint64_t> available_mib);

// Throws Error naming the numbers unless the host has `available_mib` for
// what the node must hold plus `cache_mib` (plus, for an automatic cache, the
// host's reserve). Unknown availability passes.
void CheckNodeMemory(const NodeMemory& node, uint64_t cache_mib,
                     std::optional<uint64_t> available_mib);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CACHE_BUDGET_H_

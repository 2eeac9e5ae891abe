#include "hypervisor/node/cache_budget.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "common/error.h"
#include "provision/manifest/manifest.h"

namespace ssivm {

uint64_t HostReserveMib(uint64_t available_mib) {
  constexpr uint64_t kMinReserveMib = 256;
  return std::max(kMinReserveMib, available_mib / 10);
}

uint64_t CacheBudgetMib(const NodeMemory& node, std::optional<uint64_t> available_mib) {
  if (node.explicit_cache_mib != 0) return node.explicit_cache_mib;
  uint64_t budget = node.remote_mib;
  if (available_mib) {
    const uint64_t kept = node.must_hold_mib() + HostReserveMib(*available_mib);
    budget = std::min(budget, *available_mib > kept ? *available_mib - kept : 0);
  }
  return std::max(budget, provision::MinCacheMib(node.vcpus));
}

void CheckNodeMemory(const NodeMemory& node, uint64_t cache_mib,
                     std::optional<uint64_t> available_mib) {
  if (!available_mib) return;
  const bool automatic = node.explicit_cache_mib == 0;
  const uint64_t reserve = automatic ? HostReserveMib(*available_mib) : 0;
  const uint64_t need = node.must_hold_mib() + cache_mib + reserve;
  if (need <= *available_mib) return;
  const std::string holds = fmt::format(
      "not enough host memory for this node: it holds {} MiB of its own ({} MiB of guest RAM it "
      "is home of, {} MiB of private regions and the replicated kernel and initrd)",
      node.must_hold_mib(), node.home_mib, node.private_mib);
  const uint64_t min = provision::MinCacheMib(node.vcpus);
  if (!automatic) {
    throw Error(fmt::format(
        "{} and cache_mib = {} MiB of other nodes' pages, {} MiB in all, but this host has {} MiB "
        "available; lower the node's cache_mib (at least {} MiB) or its memory_mib",
        holds, cache_mib, need, *available_mib, min));
  }
  throw Error(fmt::format(
      "{}, needs a cache of at least {} MiB of other nodes' pages for its {} vCPU(s) and leaves "
      "the host a reserve of {} MiB, {} MiB in all, but this host has {} MiB available; use a "
      "smaller guest (the node's memory_mib) or set the node's cache_mib (then no reserve is "
      "kept)",
      holds, min, node.vcpus, reserve, need, *available_mib));
}

}  // namespace ssivm

#include "dsm/coherence/home_map.h"

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::dsm {

HomeMap::HomeMap(const std::vector<uint64_t>& bytes) {
  if (bytes.empty()) throw Error("a cluster needs at least one node's memory");
  uint64_t base = 0;
  for (NodeId k = 0; k < bytes.size(); ++k) {
    if (bytes[k] == 0 || bytes[k] % kPageBytes != 0) {
      throw Error(fmt::format("node {} contributes {} bytes: not a positive multiple of {}", k,
                              bytes[k], kPageBytes));
    }
    ranges_.push_back({base, bytes[k], k});
    base += bytes[k];
  }
}

NodeId HomeMap::HomeOf(PageNumber page) const {
  const uint64_t addr = page * kPageBytes;
  for (const Range& r : ranges_) {
    if (addr < r.base + r.size) return r.home;
  }
  return ranges_.back().home;
}

}  // namespace ssivm::dsm

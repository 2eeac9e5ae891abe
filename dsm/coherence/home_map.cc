#include "dsm/coherence/home_map.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {

HomeMap::HomeMap(const std::vector<uint64_t>& bytes, std::vector<RamSpan> ram) {
  if (bytes.empty()) throw Error("a cluster needs at least one node's memory");
  uint64_t total = 0;
  for (NodeId k = 0; k < bytes.size(); ++k) {
    if (bytes[k] == 0 || bytes[k] % abi::kPageSize != 0) {
      throw Error(fmt::format("node {} contributes {} bytes: not a positive multiple of {}", k,
                              bytes[k], abi::kPageSize));
    }
    total += bytes[k];
  }
  if (ram.empty()) ram.push_back({0, total});
  uint64_t ram_total = 0;
  for (const RamSpan& s : ram) ram_total += s.size;
  if (ram_total != total) {
    throw Error(
        fmt::format("the nodes contribute {} bytes but guest RAM has {}", total, ram_total));
  }
  // Walk both lists: each piece is the overlap of one contribution and one span.
  size_t span = 0;
  uint64_t used = 0;  // of ram[span]
  for (NodeId k = 0; k < bytes.size(); ++k) {
    for (uint64_t left = bytes[k]; left > 0;) {
      const uint64_t piece = std::min(left, ram[span].size - used);
      ranges_.push_back({ram[span].base + used, piece, k});
      left -= piece;
      used += piece;
      if (used == ram[span].size) ++span, used = 0;
    }
  }
}

NodeId HomeMap::HomeOf(PageNumber page) const {
  const uint64_t addr = page * abi::kPageSize;
  for (const Range& r : ranges_) {
    if (addr < r.base + r.size) return r.home;
  }
  return ranges_.back().home;
}

}  // namespace ssivm::dsm

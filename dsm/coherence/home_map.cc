#include "dsm/coherence/home_map.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {

HomeMap::HomeMap(const std::vector<Contribution>& contributions, std::vector<RamSpan> ram) {
  if (contributions.empty()) throw Error("a cluster needs at least one node's memory");
  uint64_t total = 0;
  for (size_t i = 0; i < contributions.size(); ++i) {
    const Contribution& c = contributions[i];
    if (c.bytes == 0 || c.bytes % abi::kPageSize != 0) {
      throw Error(fmt::format("node {} contributes {} bytes: not a positive multiple of {}", c.node,
                              c.bytes, abi::kPageSize));
    }
    if (i > 0 && c.node <= contributions[i - 1].node) {
      throw Error(fmt::format("node {} contributes after node {}: in ascending ids, once each",
                              c.node, contributions[i - 1].node));
    }
    total += c.bytes;
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
  for (const Contribution& c : contributions) {
    for (uint64_t left = c.bytes; left > 0;) {
      const uint64_t piece = std::min(left, ram[span].size - used);
      ranges_.push_back({ram[span].base + used, piece, c.node});
      left -= piece;
      used += piece;
      if (used == ram[span].size) ++span, used = 0;
    }
  }
}

NodeId HomeMap::HomeOf(PageNumber page) const {
  // Beyond every range (a wrapped address would land in the first): the last.
  if (page > kMaxPageNumber) return ranges_.back().home;
  const uint64_t addr = page * abi::kPageSize;
  for (const Range& r : ranges_) {
    if (addr < r.base + r.size) return r.home;
  }
  return ranges_.back().home;
}

}  // namespace ssivm::dsm

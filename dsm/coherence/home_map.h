// Which node is home of each page: each node is home of the guest RAM it
// contributes, laid out in the order of the contributions (ascending node
// id: ids may be sparse) from the lowest RAM address
// (ARCHITECTURE.md, "Guest-physical memory": one home range per node). Guest
// RAM can have holes (the MMIO hole below 4 GiB): a contribution that
// reaches a hole continues after it, so a node can be home of two ranges.
#ifndef SSIVM_DSM_COHERENCE_HOME_MAP_H_
#define SSIVM_DSM_COHERENCE_HOME_MAP_H_

#include <cstdint>
#include <vector>

#include "dsm/protocol/message.h"

namespace ssivm::dsm {

class HomeMap {
 public:
  struct Range {
    uint64_t base;
    uint64_t size;
    NodeId home;
  };

  struct RamSpan {
    uint64_t base;
    uint64_t size;
  };

  struct Contribution {
    NodeId node;
    uint64_t bytes;  // page aligned, non-zero
  };

  // The contributions (ascending node ids), laid over `ram` (ascending, page
  // aligned; default: one span from 0 as large as all contributions). Throws
  // Error if a contribution is bad, a node contributes twice or out of order,
  // or the RAM is not exactly as large as the contributions.
  explicit HomeMap(const std::vector<Contribution>& contributions, std::vector<RamSpan> ram = {});

  // The home of a page; pages in a hole belong to the next range's home,
  // pages past the end to the last node.
  NodeId HomeOf(PageNumber page) const;
  // In address order; a node's contribution may be split over two or more.
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  std::vector<Range> ranges_;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_COHERENCE_HOME_MAP_H_

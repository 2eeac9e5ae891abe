// Which node is home of each page: node k is home of the guest RAM it
// contributes, laid out in node order from address 0 (ARCHITECTURE.md,
// "Guest-physical memory": one home range per node).
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

  // bytes[k] = what node k contributes (page aligned, non-zero). Throws
  // Error otherwise.
  explicit HomeMap(const std::vector<uint64_t>& bytes);

  // The home of a page; pages past the end belong to the last node.
  NodeId HomeOf(PageNumber page) const;
  const std::vector<Range>& ranges() const { return ranges_; }
  uint64_t total_bytes() const { return ranges_.back().base + ranges_.back().size; }

 private:
  std::vector<Range> ranges_;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_COHERENCE_HOME_MAP_H_

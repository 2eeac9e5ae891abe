// The pages that fault most on a node, counted in bounded memory: the
// space-saving algorithm (Metwally et al., 2005) keeps `capacity` counters;
// a page not counted takes over the smallest counter (+1), so every page
// that faulted more than total/capacity times is among them, with a count
// that errs high by at most the counter it took over.
#ifndef SSIVM_DSM_FAULT_HOT_PAGES_H_
#define SSIVM_DSM_FAULT_HOT_PAGES_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "dsm/protocol/message.h"

namespace ssivm::dsm {

class HotPages {
 public:
  explicit HotPages(size_t capacity = 64) : capacity_(capacity) {}

  void Count(PageNumber page);
  // The n most counted pages, most first (page, faults).
  std::vector<std::pair<PageNumber, uint64_t>> Top(size_t n) const;

 private:
  size_t capacity_;
  std::vector<std::pair<PageNumber, uint64_t>> counters_;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_FAULT_HOT_PAGES_H_

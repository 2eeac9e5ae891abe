// The pages that fault most on a node, counted in bounded memory: the
// space-saving algorithm (Metwally et al., 2005) keeps `capacity` counters;
// a page not counted takes over the smallest counter (+1), remembering that
// counter's value as its possible error. Every page that faulted more than
// total/capacity times is among them; count - error is a lower bound of its
// faults, and that is what Top reports (and ranks by), so pages that merely
// inherited a counter do not show as hot.
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
  // The n pages with the most faults known for certain, most first (page,
  // faults at least); pages with none known are left out.
  std::vector<std::pair<PageNumber, uint64_t>> Top(size_t n) const;

 private:
  struct Counter {
    PageNumber page;
    uint64_t count;
    uint64_t error;  // how much of count it may have inherited
  };
  size_t capacity_;
  std::vector<Counter> counters_;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_FAULT_HOT_PAGES_H_

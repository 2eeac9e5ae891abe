#include "dsm/fault/hot_pages.h"

#include <algorithm>

namespace ssivm::dsm {

void HotPages::Count(PageNumber page) {
  auto smallest = counters_.end();
  for (auto it = counters_.begin(); it != counters_.end(); ++it) {
    if (it->first == page) {
      ++it->second;
      return;
    }
    if (smallest == counters_.end() || it->second < smallest->second) smallest = it;
  }
  if (counters_.size() < capacity_) {
    counters_.emplace_back(page, 1);
  } else if (smallest != counters_.end()) {
    *smallest = {page, smallest->second + 1};
  }
}

std::vector<std::pair<PageNumber, uint64_t>> HotPages::Top(size_t n) const {
  std::vector<std::pair<PageNumber, uint64_t>> pages = counters_;
  n = std::min(n, pages.size());
  std::partial_sort(pages.begin(), pages.begin() + static_cast<ptrdiff_t>(n), pages.end(),
                    [](const auto& a, const auto& b) { return a.second > b.second; });
  pages.resize(n);
  return pages;
}

}  // namespace ssivm::dsm

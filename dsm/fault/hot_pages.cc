#include "dsm/fault/hot_pages.h"

#include <algorithm>

namespace ssivm::dsm {

void HotPages::Count(PageNumber page) {
  auto smallest = counters_.end();
  for (auto it = counters_.begin(); it != counters_.end(); ++it) {
    if (it->page == page) {
      ++it->count;
      return;
    }
    if (smallest == counters_.end() || it->count < smallest->count) smallest = it;
  }
  if (counters_.size() < capacity_) {
    counters_.push_back({page, 1, 0});
  } else if (smallest != counters_.end()) {
    *smallest = {page, smallest->count + 1, smallest->count};
  }
}

std::vector<std::pair<PageNumber, uint64_t>> HotPages::Top(size_t n) const {
  std::vector<std::pair<PageNumber, uint64_t>> pages;
  for (const Counter& c : counters_) {
    if (c.count > c.error) pages.emplace_back(c.page, c.count - c.error);
  }
  n = std::min(n, pages.size());
  std::partial_sort(pages.begin(), pages.begin() + static_cast<ptrdiff_t>(n), pages.end(),
                    [](const auto& a, const auto& b) { return a.second > b.second; });
  pages.resize(n);
  return pages;
}

}  // namespace ssivm::dsm

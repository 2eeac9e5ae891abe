#include "dsm/fault/hot_pages.h"

#include <gtest/gtest.h>

namespace ssivm::dsm {
namespace {

TEST(HotPages, ExactWhileThereAreCountersToSpare) {
  HotPages h(8);
  for (int i = 0; i < 5; ++i) h.Count(3);
  for (int i = 0; i < 2; ++i) h.Count(9);
  h.Count(1);
  const auto top = h.Top(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0], (std::pair<PageNumber, uint64_t>{3, 5}));
  EXPECT_EQ(top[1], (std::pair<PageNumber, uint64_t>{9, 2}));
  EXPECT_EQ(h.Top(100).size(), 3u);
}

// A page that takes a large share of the faults stays on top however many
// other pages fault once each, in memory that does not grow with them.
TEST(HotPages, AHotPageSurvivesAStreamOfColdOnes) {
  HotPages h(16);
  for (PageNumber p = 100; p < 100000; ++p) {
    h.Count(p);
    if (p % 4 == 0) h.Count(7);
  }
  const auto top = h.Top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].first, 7u);
  EXPECT_GE(top[0].second, 99900u / 4);
  // The cold pages hold counters they inherited: none shows a fault it is
  // not sure of (each faulted once, so at most 1 is certain).
  for (const auto& [page, faults] : h.Top(100)) {
    if (page != 7) EXPECT_LE(faults, 1u) << page;
  }
}

}  // namespace
}  // namespace ssivm::dsm

#include "dsm/fault/prefetch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ssivm::dsm {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(Prefetch, ASequentialStreamFetchesAGrowingWindowAhead) {
  Prefetch p;
  EXPECT_THAT(p.OnFault(1, 100), IsEmpty());
  EXPECT_THAT(p.OnFault(1, 101), IsEmpty());  // one stride seen
  EXPECT_THAT(p.OnFault(1, 102), ElementsAre(103, 104, 105, 106));
  // The fetched pages no longer fault: the next fault is past them, the
  // window doubles and nothing is asked for twice.
  EXPECT_THAT(p.OnFault(1, 107), ElementsAre(108, 109, 110, 111, 112, 113, 114, 115));
  // A fault on a page still on its way: the window grows again, ahead of
  // what was asked for.
  const auto more = p.OnFault(1, 109);
  ASSERT_FALSE(more.empty());
  EXPECT_EQ(more.front(), 116u);
  EXPECT_EQ(more.back(), 109u + 16);
}

TEST(Prefetch, StridesAndDescendingStreamsToo) {
  Prefetch p;
  p.OnFault(7, 1000);
  p.OnFault(7, 1008);
  EXPECT_THAT(p.OnFault(7, 1016), ElementsAre(1024, 1032, 1040, 1048));
  Prefetch down;
  down.OnFault(7, 50);
  down.OnFault(7, 49);
  EXPECT_THAT(down.OnFault(7, 48), ElementsAre(47, 46, 45, 44));
  Prefetch low;  // never below page 0
  low.OnFault(7, 3);
  low.OnFault(7, 2);
  EXPECT_THAT(low.OnFault(7, 1), ElementsAre(0));
}

TEST(Prefetch, RandomFaultsAndOtherStreamsFetchNothing) {
  Prefetch p;
  for (PageNumber q : {5, 90, 17, 4000, 12, 13, 900}) EXPECT_THAT(p.OnFault(1, q), IsEmpty());
  // Streams are apart: thread 2's faults do not break thread 1's.
  p.OnFault(1, 200);
  p.OnFault(2, 7);
  p.OnFault(1, 201);
  p.OnFault(2, 3000);
  EXPECT_THAT(p.OnFault(1, 202), ElementsAre(203, 204, 205, 206));
  // A stride beyond kMaxStride is no stream.
  Prefetch far;
  far.OnFault(1, 0);
  far.OnFault(1, 1000);
  EXPECT_THAT(far.OnFault(1, 2000), IsEmpty());
}

TEST(Prefetch, TheWindowStopsAtItsMaximumAndZeroTurnsItOff) {
  Prefetch p(Prefetch::Config{2, 4, 8});
  p.OnFault(1, 0);
  p.OnFault(1, 1);
  EXPECT_EQ(p.OnFault(1, 2).size(), 4u);
  EXPECT_EQ(p.OnFault(1, 7).size(), 8u);   // 8..15
  EXPECT_EQ(p.OnFault(1, 16).size(), 8u);  // 17..24, the window stays 8
  p.set_max_window(0);
  EXPECT_THAT(p.OnFault(1, 25), IsEmpty());
}

}  // namespace
}  // namespace ssivm::dsm

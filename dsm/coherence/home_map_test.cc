#include "dsm/coherence/home_map.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::dsm {
namespace {

TEST(HomeMap, NodesAreHomeOfTheirContributionInOrder) {
  HomeMap m({64ull << 20, 32ull << 20, 32ull << 20});
  EXPECT_EQ(m.HomeOf(0), 0u);
  EXPECT_EQ(m.HomeOf((64ull << 20) / 4096 - 1), 0u);
  EXPECT_EQ(m.HomeOf((64ull << 20) / 4096), 1u);
  EXPECT_EQ(m.HomeOf((96ull << 20) / 4096), 2u);
  EXPECT_EQ(m.HomeOf(1ull << 40), 2u);
  EXPECT_EQ(m.total_bytes(), 128ull << 20);
  ASSERT_EQ(m.ranges().size(), 3u);
  EXPECT_EQ(m.ranges()[1].base, 64ull << 20);
}

TEST(HomeMap, RejectsEmptyOrUnalignedContributions) {
  EXPECT_THROW(HomeMap({}), Error);
  EXPECT_THROW(HomeMap({4096, 0}), Error);
  EXPECT_THROW(HomeMap({4097}), Error);
}

}  // namespace
}  // namespace ssivm::dsm

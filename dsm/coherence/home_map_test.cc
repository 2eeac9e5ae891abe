#include "dsm/coherence/home_map.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::dsm {
namespace {

TEST(HomeMap, NodesAreHomeOfTheirContributionInOrder) {
  HomeMap m({{0, 64ull << 20}, {1, 32ull << 20}, {2, 32ull << 20}});
  EXPECT_EQ(m.HomeOf(0), 0u);
  EXPECT_EQ(m.HomeOf((64ull << 20) / 4096 - 1), 0u);
  EXPECT_EQ(m.HomeOf((64ull << 20) / 4096), 1u);
  EXPECT_EQ(m.HomeOf((96ull << 20) / 4096), 2u);
  EXPECT_EQ(m.HomeOf(1ull << 40), 2u);
  ASSERT_EQ(m.ranges().size(), 3u);
  EXPECT_EQ(m.ranges()[1].base, 64ull << 20);
}

TEST(HomeMap, SparseNodeIdsAreHomeOfTheirContributions) {
  HomeMap m({{0, 8192}, {3, 4096}, {7, 4096}});
  EXPECT_EQ(m.HomeOf(1), 0u);
  EXPECT_EQ(m.HomeOf(2), 3u);
  EXPECT_EQ(m.HomeOf(3), 7u);
}

TEST(HomeMap, AContributionThatReachesTheMmioHoleContinuesAboveIt) {
  constexpr uint64_t kGiB = 1ull << 30;
  // Two nodes of 2 GiB: RAM is [0, 3 GiB) and [4 GiB, 5 GiB).
  HomeMap m({{0, 2 * kGiB}, {1, 2 * kGiB}}, {{0, 3 * kGiB}, {4 * kGiB, kGiB}});
  ASSERT_EQ(m.ranges().size(), 3u);
  EXPECT_EQ(m.ranges()[0].base, 0u);
  EXPECT_EQ(m.ranges()[0].size, 2 * kGiB);
  EXPECT_EQ(m.ranges()[1].base, 2 * kGiB);
  EXPECT_EQ(m.ranges()[1].size, kGiB);
  EXPECT_EQ(m.ranges()[1].home, 1u);
  EXPECT_EQ(m.ranges()[2].base, 4 * kGiB);
  EXPECT_EQ(m.ranges()[2].size, kGiB);
  EXPECT_EQ(m.ranges()[2].home, 1u);
  EXPECT_EQ(m.HomeOf(2 * kGiB / 4096 - 1), 0u);
  EXPECT_EQ(m.HomeOf(4 * kGiB / 4096), 1u);
  EXPECT_EQ(m.HomeOf((5 * kGiB - 4096) / 4096), 1u);
}

TEST(HomeMap, NodesMeetExactlyAtTheHole) {
  constexpr uint64_t kGiB = 1ull << 30;
  HomeMap m({{0, 3 * kGiB}, {1, kGiB}}, {{0, 3 * kGiB}, {4 * kGiB, kGiB}});
  ASSERT_EQ(m.ranges().size(), 2u);
  EXPECT_EQ(m.ranges()[1].base, 4 * kGiB);
  EXPECT_EQ(m.ranges()[1].home, 1u);
}

TEST(HomeMap, APageNumberThatWouldWrapIsNotHomedAtTheFirstNode) {
  const HomeMap m({{0, 64ull << 20}, {1, 64ull << 20}});
  const PageNumber first = 16;
  EXPECT_EQ(m.HomeOf(first), 0u);
  EXPECT_EQ(m.HomeOf((PageNumber{1} << 52) + first), 1u);
}

TEST(HomeMap, RejectsRamThatDoesNotMatchTheContributions) {
  EXPECT_THROW(HomeMap({{0, 8192}}, {{0, 4096}}), Error);
  EXPECT_THROW(HomeMap({{0, 4096}}, {{0, 4096}, {8192, 4096}}), Error);
}

TEST(HomeMap, RejectsEmptyOrUnalignedContributions) {
  EXPECT_THROW(HomeMap({}), Error);
  EXPECT_THROW(HomeMap({{0, 4096}, {1, 0}}), Error);
  EXPECT_THROW(HomeMap({{0, 4097}}), Error);
  EXPECT_THROW(HomeMap({{3, 4096}, {3, 4096}}), Error);
  EXPECT_THROW(HomeMap({{3, 4096}, {1, 4096}}), Error);
}

}  // namespace
}  // namespace ssivm::dsm

#include "hypervisor/node/cache_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

// A node of a 3-node guest of 3 x 1024 MiB with 2 vCPUs; 40 MiB private.
NodeMemory Node(uint64_t explicit_cache_mib = 0) {
  return {.home_mib = 1024,
          .private_mib = 40,
          .remote_mib = 2048,
          .explicit_cache_mib = explicit_cache_mib,
          .vcpus = 2};
}

std::string Refusal(const NodeMemory& node, uint64_t cache_mib, uint64_t available_mib) {
  try {
    CheckNodeMemory(node, cache_mib, available_mib);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted a cache of " << cache_mib << " MiB with " << available_mib
                << " MiB available";
  return "";
}

TEST(CacheBudget, TheReserveIsTenPercentAtLeast256Mib) {
  EXPECT_EQ(HostReserveMib(1000), 256u);
  EXPECT_EQ(HostReserveMib(2560), 256u);
  EXPECT_EQ(HostReserveMib(64000), 6400u);
}

TEST(CacheBudget, AnExplicitCacheIsTakenAsGiven) {
  EXPECT_EQ(CacheBudgetMib(Node(512), 100), 512u);
  EXPECT_EQ(CacheBudgetMib(Node(9999), std::nullopt), 9999u);
}

// Automatic: what the host spares after the node's own and the reserve, no
// more than the other nodes' RAM, no less than the minimum.
TEST(CacheBudget, AnAutomaticCacheTakesWhatTheHostCanSpare) {
  // 64000 available: 64000 - 1064 - 6400 spare, more than the 2048 remote.
  EXPECT_EQ(CacheBudgetMib(Node(), 64000), 2048u);
  // 2000 available: 2000 - 1064 - 256 = 680.
  EXPECT_EQ(CacheBudgetMib(Node(), 2000), 680u);
  // 1000 available: nothing to spare; the minimum (2 vCPUs: 4 MiB).
  EXPECT_EQ(CacheBudgetMib(Node(), 1000), 4u);
  NodeMemory many = Node();
  many.vcpus = 8;
  EXPECT_EQ(CacheBudgetMib(many, 1000), 16u);
  // Unknown availability: as much as could be useful.
  EXPECT_EQ(CacheBudgetMib(Node(), std::nullopt), 2048u);
  NodeMemory alone = Node();
  alone.remote_mib = 0;  // a 1-node cluster
  EXPECT_EQ(CacheBudgetMib(alone, 64000), 4u);
}

TEST(CacheBudget, AHostWithRoomPasses) {
  EXPECT_NO_THROW(CheckNodeMemory(Node(), CacheBudgetMib(Node(), 2000), 2000));
  EXPECT_NO_THROW(CheckNodeMemory(Node(512), 512, 1576));  // exactly enough, no reserve
  EXPECT_NO_THROW(CheckNodeMemory(Node(512), 512, std::nullopt));
}

TEST(CacheBudget, AnExplicitCacheTooLargeForTheHostIsRefusedByName) {
  EXPECT_EQ(Refusal(Node(512), 512, 1575),
            "not enough host memory for this node: it holds 1064 MiB of its own (1024 MiB of "
            "guest RAM it is home of, 40 MiB of private regions and the replicated kernel and "
            "initrd) and cache_mib = 512 MiB of other nodes' pages, 1576 MiB in all, but this "
            "host has 1575 MiB available; lower the node's cache_mib (at least 4 MiB) or its "
            "memory_mib");
}

TEST(CacheBudget, AnAutomaticCacheBelowTheMinimumIsRefused) {
  const uint64_t available = 1300;  // 1064 + 4 + 256 = 1324 needed
  const std::string e = Refusal(Node(), CacheBudgetMib(Node(), available), available);
  EXPECT_THAT(e, HasSubstr("it holds 1064 MiB of its own")) << e;
  EXPECT_THAT(e, HasSubstr("needs a cache of at least 4 MiB of other nodes' pages for its 2 "
                           "vCPU(s) and leaves the host a reserve of 256 MiB, 1324 MiB in all, "
                           "but this host has 1300 MiB available; use a smaller guest (the "
                           "node's memory_mib) or set the node's cache_mib"))
      << e;
}

}  // namespace
}  // namespace ssivm

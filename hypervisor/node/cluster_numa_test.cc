#include "hypervisor/node/cluster_numa.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ClusterNodeDistances, LocalOnTheDiagonalRemoteElsewhere) {
  EXPECT_THAT(ClusterNodeDistances(3), ElementsAre(ElementsAre(10, 40, 40), ElementsAre(40, 10, 40),
                                                   ElementsAre(40, 40, 10)));
  // Further than Linux's RECLAIM_DISTANCE (30): truly remote to the guest.
  EXPECT_GT(kRemoteNodeDistance, 30);
}

TEST(ClusterNuma, OneDomainPerNodeWithItsVcpusAndTheRamItIsHomeOf) {
  const abi::MemRange homes[] = {
      {.base = 0, .size = 0x4000000, .kind = 0, .home_node = 0},
      {.base = 0x4000000, .size = 0x2000000, .kind = 0, .home_node = 1},
      {.base = 0x6000000, .size = 0x2000000, .kind = 0, .home_node = 2},
      {.base = 1ull << 32, .size = 0x1000000, .kind = 0, .home_node = 2}};
  const uint8_t vcpu_node[] = {0, 2, 1, 2};
  const AcpiNuma numa = ClusterNuma(3, homes, vcpu_node);
  ASSERT_EQ(numa.domains.size(), 3u);
  EXPECT_THAT(numa.domains[0].apic_ids, ElementsAre(0));
  EXPECT_THAT(numa.domains[1].apic_ids, ElementsAre(2));
  EXPECT_THAT(numa.domains[2].apic_ids, ElementsAre(1, 3));
  ASSERT_EQ(numa.domains[0].memory.size(), 1u);
  EXPECT_EQ(numa.domains[0].memory[0].base, 0u);
  EXPECT_EQ(numa.domains[0].memory[0].size, 0x4000000u);
  ASSERT_EQ(numa.domains[1].memory.size(), 1u);
  EXPECT_EQ(numa.domains[1].memory[0].base, 0x4000000u);
  ASSERT_EQ(numa.domains[2].memory.size(), 2u);  // split by the MMIO hole
  EXPECT_EQ(numa.domains[2].memory[1].base, 1ull << 32);
  EXPECT_EQ(numa.domains[2].memory[1].size, 0x1000000u);
  EXPECT_EQ(numa.distances, ClusterNodeDistances(3));
  // What the guest gets is valid ACPI.
  EXPECT_NO_THROW(BuildAcpiTables(AcpiConfig{.vcpus = 4, .numa = numa}));
}

TEST(ClusterNuma, ASingleNodeHasNoDomains) {
  const abi::MemRange homes[] = {{.base = 0, .size = 0x4000000, .kind = 0, .home_node = 0}};
  const uint8_t vcpu_node[] = {0, 0};
  EXPECT_TRUE(ClusterNuma(1, homes, vcpu_node).domains.empty());
  EXPECT_TRUE(ClusterNuma(1, {}, {}).domains.empty());
}

TEST(ClusterNuma, ANodeNumberBeyondTheClusterIsRefused) {
  const abi::MemRange homes[] = {{.base = 0, .size = 0x4000000, .kind = 0, .home_node = 2}};
  const uint8_t vcpu_node[] = {0, 3};
  try {
    ClusterNuma(2, homes, {});
    FAIL() << "a range homed on node 2 of 2 was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("memory at 0x0 is on guest node 2, but there are 2 nodes"));
  }
  try {
    ClusterNuma(2, {}, vcpu_node);
    FAIL() << "a vCPU on node 3 of 2 was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("vCPU 1 is on guest node 3"));
  }
}

}  // namespace
}  // namespace ssivm

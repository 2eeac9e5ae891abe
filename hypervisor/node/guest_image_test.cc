// The machine's first step, which needs no KVM: the bundled guest kernel
// loaded into guest RAM with its boot info, as one node and as a node of a
// cluster (whose boot info names each range's home).
#include "hypervisor/node/guest_image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

MachineConfig Config() {
  MachineConfig c;
  c.kernel_path = "guest/kernel";  // in the test's runfiles
  c.vcpus = 2;
  c.memory_mib = 64;
  return c;
}

abi::SsivmInfo InfoOf(const PreparedGuest& g) {
  const GuestMemory& mem = g.ram.memory;
  const auto params = mem.ReadObject<abi::BootParams>(g.boot_params);
  return mem.ReadObject<abi::SsivmInfo>(params.hdr.setup_data + sizeof(abi::SetupData));
}

TEST(GuestImage, LoadsTheGuestWithItsBootInfo) {
  const PreparedGuest g = PrepareGuest(Config(), HostKind::kHardware);
  EXPECT_EQ(g.kernel.format, LoadedKernel::Format::kElf);
  EXPECT_EQ(g.boot_params, abi::kBootParamsGpa);
  EXPECT_EQ(g.cr3, abi::kPageTablesGpa);
  EXPECT_GT(g.gdt_limit, 0);
  EXPECT_EQ(g.ram.memory.regions().size(), 1u);
  const abi::SsivmInfo info = InfoOf(g);
  EXPECT_EQ(info.node_count, 1u);
  // Kernel text starts replicated; nothing else (no initrd).
  const auto replicated = ReplicatedAtStart(g);
  ASSERT_FALSE(replicated.empty());
  for (const auto& [gpa, size] : replicated) {
    EXPECT_GE(gpa, abi::kKernelBase);
    EXPECT_EQ(size % abi::kPageSize, 0u);
  }
}

TEST(GuestImage, AClusterNodesBootInfoNamesEachRangesHome) {
  MachineConfig c = Config();
  provision::ClusterManifest m;
  m.cluster_id = "image";
  m.guest.vcpus_total = 2;
  m.guest.vcpus_online = 2;
  m.nodes.push_back({0, "a", "a", "127.0.0.1:7400", {0, 0}, 32});
  m.nodes.push_back({1, "b", "b", "127.0.0.1:7401", {1, 1}, 32});
  const ClusterRole role = RoleFromManifest(m, 1);
  c.cluster = role;
  const PreparedGuest g = PrepareGuest(c, HostKind::kHardware);
  const abi::SsivmInfo info = InfoOf(g);
  EXPECT_EQ(info.node_count, 2u);
  EXPECT_EQ(info.vcpu_node[1], 1);
  bool homed_at[2] = {false, false};
  for (uint32_t i = 0; i < info.range_count; ++i) {
    const abi::MemRange& r = info.ranges[i];
    if (r.kind == abi::kRangeShared) {
      ASSERT_LT(r.home_node, 2u);
      homed_at[r.home_node] = true;
    }
  }
  EXPECT_TRUE(homed_at[0]);
  EXPECT_TRUE(homed_at[1]);
}

TEST(GuestImage, ABadImageIsNamedBeforeAnythingElse) {
  MachineConfig c = Config();
  c.kernel_path = "/nonexistent/kernel";
  try {
    PrepareGuest(c, HostKind::kHardware);
    FAIL() << "a missing kernel was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/kernel"));
  }
}

}  // namespace
}  // namespace ssivm

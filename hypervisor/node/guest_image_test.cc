// The machine's first step, which needs no KVM: the bundled guest kernel
// loaded into guest RAM with its boot info, as one node and as a node of a
// cluster (whose boot info names each range's home).
#include "hypervisor/node/guest_image.h"

#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"

namespace ssivm {
namespace {

using ::testing::ElementsAre;
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

// The guest's ACPI tables as the XSDT lists them: signature -> address.
std::map<std::string, uint64_t> AcpiTablesOf(const PreparedGuest& g) {
  const GuestMemory& mem = g.ram.memory;
  const auto params = mem.ReadObject<abi::BootParams>(g.boot_params);
  const auto xsdt = mem.ReadObject<uint64_t>(params.acpi_rsdp_addr + 24);
  std::map<std::string, uint64_t> out;
  for (uint64_t o = 36; o < mem.ReadObject<uint32_t>(xsdt + 4); o += 8) {
    const auto table = mem.ReadObject<uint64_t>(xsdt + o);
    const auto sig = mem.ReadObject<std::array<char, 4>>(table);
    out[std::string(sig.begin(), sig.end())] = table;
  }
  return out;
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
  EXPECT_EQ(AcpiTablesOf(g).count("SRAT"), 0u);  // one node: no NUMA
  EXPECT_EQ(AcpiTablesOf(g).count("SLIT"), 0u);
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
  // One NUMA node per cluster node: its vCPUs and the RAM it is home of.
  const std::map<std::string, uint64_t> tables = AcpiTablesOf(g);
  ASSERT_EQ(tables.count("SLIT"), 1u);
  ASSERT_EQ(tables.count("SRAT"), 1u);
  const GuestMemory& mem = g.ram.memory;
  EXPECT_EQ(mem.ReadObject<uint64_t>(tables.at("SLIT") + 36), 2u);
  const uint64_t srat = tables.at("SRAT");
  std::vector<uint8_t> vcpu_domain(2, 0xff);
  std::set<uint32_t> memory_domains;
  for (uint64_t o = srat + 48; o < srat + mem.ReadObject<uint32_t>(srat + 4);) {
    const auto type = mem.ReadObject<uint8_t>(o);
    if (type == 0) vcpu_domain.at(mem.ReadObject<uint8_t>(o + 3)) = mem.ReadObject<uint8_t>(o + 2);
    if (type == 1) memory_domains.insert(mem.ReadObject<uint32_t>(o + 2));
    o += mem.ReadObject<uint8_t>(o + 1);
  }
  EXPECT_THAT(vcpu_domain, ElementsAre(info.vcpu_node[0], info.vcpu_node[1]));
  EXPECT_THAT(memory_domains, ElementsAre(0, 1));
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

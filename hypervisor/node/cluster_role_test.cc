#include "hypervisor/node/cluster_role.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

provision::ClusterManifest TwoNodes() {
  provision::ClusterManifest m;
  m.cluster_id = "test";
  m.epoch = 4;
  m.guest.vcpus_total = 3;
  m.guest.vcpus_online = 3;
  m.nodes.push_back({0, "a", "a", "127.0.0.1:7400", {0, 1}, 128});
  m.nodes.push_back({1, "b", "b", "127.0.0.1:7401", {2, 2}, 64});
  return m;
}

TEST(ClusterRole, FromManifest) {
  const ClusterRole r = RoleFromManifest(TwoNodes(), 1);
  EXPECT_EQ(r.self, 1u);
  EXPECT_EQ(r.node_count(), 2u);
  EXPECT_EQ(r.vcpu_node(), (std::vector<cluster::NodeId>{0, 0, 1}));
  EXPECT_TRUE(r.runs(2));
  EXPECT_FALSE(r.runs(0));
  EXPECT_EQ(r.view.TotalMemoryBytes(), 192ull << 20);
  EXPECT_EQ(r.view.Contributions()[1].second, 64ull << 20);
  EXPECT_EQ(r.addresses()[1].port, 7401);
  EXPECT_EQ(r.cluster_key, ClusterKey("test"));
  EXPECT_NE(ClusterKey("test"), ClusterKey("tesu"));
  EXPECT_FALSE(r.device_node());
}

// The manifest's `placement` reaches the node (main.cc lets --placement
// override it).
TEST(ClusterRole, TakesPlacementFromTheManifest) {
  EXPECT_TRUE(RoleFromManifest(TwoNodes(), 0).placement);
  provision::ClusterManifest m = TwoNodes();
  m.placement = false;
  EXPECT_FALSE(RoleFromManifest(m, 0).placement);
}

// The node's own `cache_mib` reaches it (0: automatic); the budget in pages
// is PrepareGuest's to decide.
TEST(ClusterRole, TakesItsCacheMibFromTheManifest) {
  provision::ClusterManifest m = TwoNodes();
  m.nodes[1].cache_mib = 96;
  EXPECT_EQ(RoleFromManifest(m, 0).cache_mib, 0u);
  EXPECT_EQ(RoleFromManifest(m, m.nodes[1].id).cache_mib, 96u);
  EXPECT_EQ(RoleFromManifest(m, m.nodes[1].id).cache_pages, 0u);
}

TEST(ClusterRole, RejectsWhatTheNodeProcessCannotRun) {
  EXPECT_THROW(RoleFromManifest(TwoNodes(), 5), Error);
  provision::ClusterManifest m = TwoNodes();
  m.nodes[1].address = "nodeb.example:7401";
  try {
    RoleFromManifest(m, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("needs an IPv4 address"));
  }
}

// `ssictl node remove` leaves gaps: the node process runs with sparse ids;
// the guest sees its nodes as 0..N-1, and the lowest id hosts the devices.
TEST(ClusterRole, SparseNodeIds) {
  provision::ClusterManifest m = TwoNodes();
  m.nodes[0].id = 2;
  m.nodes[1].id = 5;
  const ClusterRole r = RoleFromManifest(m, 5);
  EXPECT_EQ(r.vcpu_node(), (std::vector<cluster::NodeId>{2, 2, 5}));
  EXPECT_EQ(r.member_ids(), (std::vector<cluster::NodeId>{2, 5}));
  EXPECT_EQ(r.device_node_id(), 2u);
  EXPECT_FALSE(r.device_node());
  EXPECT_EQ(r.GuestNodeOf(2), 0u);
  EXPECT_EQ(r.GuestNodeOf(5), 1u);
  EXPECT_THROW(r.GuestNodeOf(3), Error);
  EXPECT_EQ(r.addresses()[1].id, 5u);
}

// Valid manifest fields the node cannot honour are refused, not ignored.
TEST(ClusterRole, RefusesFieldsItCannotHonour) {
  provision::ClusterManifest m = TwoNodes();
  m.guest.vcpus_online = 2;
  try {
    RoleFromManifest(m, 0);
    FAIL() << "vcpus_online < vcpus_total accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("guest.vcpus_online = 2 with vcpus_total = 3"));
  }
  m = TwoNodes();
  m.guest.page_size_kib = 2048;
  try {
    RoleFromManifest(m, 1);
    FAIL() << "page_size_kib = 2048 accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("guest.page_size_kib = 2048"));
  }
  m.guest.page_size_kib = 4;
  EXPECT_EQ(RoleFromManifest(m, 1).self, 1u);
}

}  // namespace
}  // namespace ssivm

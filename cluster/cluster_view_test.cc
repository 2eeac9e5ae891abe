#include "cluster/cluster_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"

#include "common/error.h"

namespace ssivm::cluster {
namespace {

using ::testing::HasSubstr;

// Ids 0 and 5 (sparse, as after a removal): vCPUs 0-1 on node 0, 2 on node 5.
provision::ClusterManifest Manifest() {
  provision::ClusterManifest m;
  m.cluster_id = "test";
  m.epoch = 7;
  m.guest.vcpus_total = 3;
  m.guest.vcpus_online = 3;
  m.nodes.push_back({0, "a", "a", "10.0.0.1:7400", {0, 1}, 128});
  m.nodes.push_back({5, "b", "b", "10.0.0.2:7400", {2, 2}, 64});
  return m;
}

using testing::ErrorOf;

TEST(ClusterView, FromAManifestWithSparseIds) {
  const ClusterView v = ClusterView::FromManifest(Manifest());
  EXPECT_EQ(v.epoch(), 7u);
  EXPECT_EQ(v.vcpu_count(), 3u);
  ASSERT_EQ(v.members().size(), 2u);
  EXPECT_EQ(v.members()[1].id, 5u);
  EXPECT_EQ(v.Find(5)->host, "10.0.0.2");
  EXPECT_EQ(v.Find(5)->port, 7400);
  EXPECT_EQ(v.Find(3), nullptr);
  EXPECT_EQ(v.NodeOfVcpu(2), 5u);
  EXPECT_EQ(v.VcpusOf(0), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(v.TotalMemoryBytes(), 192ull << 20);
  EXPECT_EQ(v.Contributions(),
            (std::vector<std::pair<NodeId, uint64_t>>{{0, 128ull << 20}, {5, 64ull << 20}}));
  EXPECT_THAT(ErrorOf([&] { v.NodeOfVcpu(3); }), HasSubstr("no vCPU 3"));
}

TEST(ClusterView, RefusesManifestsItCannotRun) {
  provision::ClusterManifest m = Manifest();
  m.nodes[1].address = "nodeb.example:7400";
  EXPECT_THAT(ErrorOf([&] { ClusterView::FromManifest(m); }), HasSubstr("needs an IPv4"));
  m = Manifest();
  m.nodes[1].vcpus = {1, 2};
  EXPECT_THAT(ErrorOf([&] { ClusterView::FromManifest(m); }),
              HasSubstr("vCPU 1 is on nodes 0 and 5"));
  m = Manifest();
  m.guest.vcpus_total = 4;
  EXPECT_THAT(ErrorOf([&] { ClusterView::FromManifest(m); }), HasSubstr("no node hosts vCPU 3"));
  m = Manifest();
  m.nodes.clear();
  EXPECT_THAT(ErrorOf([&] { ClusterView::FromManifest(m); }), HasSubstr("has no node"));
}

TEST(ClusterView, HotAddMoveAndDrainEachBumpTheEpoch) {
  ClusterView v = ClusterView::FromManifest(Manifest());
  v.Apply({7, AddMember{{9, "c", "10.0.0.3", 7400, 32ull << 20}}});
  EXPECT_EQ(v.epoch(), 8u);
  EXPECT_TRUE(v.VcpusOf(9).empty());
  EXPECT_EQ(v.TotalMemoryBytes(), 224ull << 20);
  v.Apply({8, MoveVcpu{2, 9}});
  EXPECT_EQ(v.NodeOfVcpu(2), 9u);
  v.Apply({9, RemoveMember{5}});
  EXPECT_EQ(v.epoch(), 10u);
  EXPECT_EQ(v.Find(5), nullptr);
  EXPECT_EQ(v.members().size(), 2u);
}

TEST(ClusterView, RefusedChangesChangeNothing) {
  ClusterView v = ClusterView::FromManifest(Manifest());
  EXPECT_THAT(ErrorOf([&] {
                v.Apply({6, MoveVcpu{0, 5}});
              }),
              HasSubstr("decided on epoch 6 cannot apply to epoch 7"));
  EXPECT_THAT(ErrorOf([&] {
                v.Apply({7, RemoveMember{5}});
              }),
              HasSubstr("node 5 still runs 1 vCPU(s) (first: 2)"));
  EXPECT_THAT(ErrorOf([&] { v.Apply({7, MoveVcpu{3, 5}}); }), HasSubstr("no vCPU 3"));
  EXPECT_THAT(ErrorOf([&] { v.Apply({7, MoveVcpu{0, 4}}); }), HasSubstr("not a member"));
  EXPECT_THAT(ErrorOf([&] {
                v.Apply({7, AddMember{{0, "x", "10.0.0.9", 7400, 1}}});
              }),
              HasSubstr("node id 0 is or was a member"));
  EXPECT_THAT(ErrorOf([&] {
                v.Apply({7, AddMember{{8, "x", "10.0.0.1", 7400, 1}}});
              }),
              HasSubstr("is node 0's"));
  EXPECT_EQ(v.epoch(), 7u);
  EXPECT_EQ(v.NodeOfVcpu(0), 0u);
  EXPECT_EQ(v.members().size(), 2u);
  // A removed node's id is never given out again.
  v.Apply({7, MoveVcpu{2, 0}});
  v.Apply({8, RemoveMember{5}});
  EXPECT_THAT(ErrorOf([&] {
                v.Apply({9, AddMember{{5, "b", "10.0.0.2", 7400, 1}}});
              }),
              HasSubstr("ids are never reused"));
  // The last member cannot leave.
  ClusterView one = ClusterView::FromManifest([] {
    provision::ClusterManifest m = Manifest();
    m.nodes.pop_back();
    m.nodes[0].vcpus = {0, 2};
    return m;
  }());
  one.Apply({7, AddMember{{1, "c", "10.0.0.3", 7400, 1}}});
  one.Apply({8, RemoveMember{1}});
  EXPECT_THAT(ErrorOf([&] {
                one.Apply({9, RemoveMember{0}});
              }),
              HasSubstr("node 0 is the last member"));
}

}  // namespace
}  // namespace ssivm::cluster

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "provision/manifest/edit.h"

namespace ssivm::provision {
namespace {

ClusterManifest Three() {
  NewManifestOptions opt;
  opt.cluster_id = "t";
  opt.vcpus_per_node = 2;
  opt.memory_per_node_mib = 512;
  opt.cmdline = "console=ttyS0";
  return NewManifest({"n1", "n2", "n3"}, opt);
}

TEST(NewManifest, LaysOutNodesInOrder) {
  ClusterManifest m = Three();
  ASSERT_EQ(m.nodes.size(), 3u);
  EXPECT_EQ(m.epoch, 1u);
  EXPECT_EQ(m.guest.vcpus_total, 6u);
  EXPECT_EQ(m.guest.vcpus_online, 6u);
  EXPECT_EQ(m.nodes[2].id, 2u);
  EXPECT_EQ(m.nodes[2].name, "n3");
  EXPECT_EQ(m.nodes[2].address, "n3:7400");
  EXPECT_EQ(m.nodes[2].vcpus, (VcpuRange{4, 5}));
  EXPECT_EQ(m.nodes[2].memory_mib, 512u);
  EXPECT_TRUE(Validate(m).empty());
}

TEST(NewManifest, IsDeterministic) {
  EXPECT_EQ(Write(Three()), Write(Three()));
}

TEST(NewManifest, RejectsBadInput) {
  NewManifestOptions opt;
  EXPECT_THROW(NewManifest({}, opt), Error);
  opt.vcpus_per_node = 0;
  EXPECT_THROW(NewManifest({"a"}, opt), Error);
  opt.vcpus_per_node = 1;
  opt.memory_per_node_mib = 0;
  try {
    NewManifest({"a"}, opt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nodes[0].memory_mib: must not be zero"),
              std::string::npos)
        << e.what();
  }
  opt.memory_per_node_mib = 1;
  std::vector<std::string> many(65, "h");
  for (size_t i = 0; i < many.size(); ++i) many[i] += std::to_string(i);
  EXPECT_THROW(NewManifest(many, opt), Error);
}

TEST(AddNode, AppendsVcpusAndBumpsEpoch) {
  ClusterManifest m = Three();
  AddNode(&m, "n4", {});
  EXPECT_EQ(m.epoch, 2u);
  ASSERT_EQ(m.nodes.size(), 4u);
  EXPECT_EQ(m.nodes[3].id, 3u);
  EXPECT_EQ(m.nodes[3].vcpus, (VcpuRange{6, 7}));  // as many as the last node
  EXPECT_EQ(m.nodes[3].memory_mib, 512u);
  EXPECT_EQ(m.guest.vcpus_total, 8u);
  EXPECT_EQ(m.guest.vcpus_online, 8u);  // all were online: still all
  EXPECT_EQ(m.nodes[0], Three().nodes[0]);
}

TEST(AddNode, KeepsPartialOnlineCount) {
  ClusterManifest m = Three();
  m.guest.vcpus_online = 2;
  AddNodeOptions opt;
  opt.vcpus = 3;
  opt.memory_mib = 128;
  opt.name = "extra";
  AddNode(&m, "10.0.0.9", opt);
  EXPECT_EQ(m.guest.vcpus_online, 2u);
  EXPECT_EQ(m.nodes[3].name, "extra");
  EXPECT_EQ(m.nodes[3].address, "10.0.0.9:7400");
  EXPECT_EQ(m.nodes[3].vcpus, (VcpuRange{6, 8}));
}

TEST(AddNode, RejectsDuplicates) {
  ClusterManifest m = Three();
  EXPECT_THROW(AddNode(&m, "n2", {}), Error);  // name and address taken
  AddNodeOptions opt;
  opt.name = "other";
  EXPECT_THROW(AddNode(&m, "n2", opt), Error);  // address taken
  opt.port = 7401;
  AddNode(&m, "n2", opt);  // a second node process on the same host
  EXPECT_EQ(m.nodes.back().address, "n2:7401");
  EXPECT_THROW(AddNode(&m, "bad host", {}), Error);
}

TEST(AddNode, NeverReusesIdsWhileFree) {
  ClusterManifest m = Three();
  RemoveNode(&m, "n2");  // id 1 is gone
  AddNode(&m, "n9", {});
  EXPECT_EQ(m.nodes.back().id, 3u);  // not 1
}

TEST(RemoveNode, GivesRangeToPreviousNode) {
  ClusterManifest m = Three();
  EXPECT_EQ(RemoveNode(&m, "n2"), "n1");
  EXPECT_EQ(m.epoch, 2u);
  ASSERT_EQ(m.nodes.size(), 2u);
  EXPECT_EQ(m.nodes[0].id, 0u);
  EXPECT_EQ(m.nodes[0].vcpus, (VcpuRange{0, 3}));
  EXPECT_EQ(m.nodes[0].memory_mib, 1024u);
  EXPECT_EQ(m.nodes[1].id, 2u);  // ids stable
  EXPECT_EQ(m.nodes[1].vcpus, (VcpuRange{4, 5}));
  EXPECT_EQ(m.guest.vcpus_total, 6u);  // the guest keeps its size
  EXPECT_EQ(m.TotalMemoryMib(), 1536u);
  EXPECT_TRUE(Validate(m).empty());
}

// `manifest new --cache-mib` sets every node's; a new node takes the newest
// node's unless told; the node inheriting vCPUs keeps at least their minimum.
TEST(Edit, CacheMibFollowsTheNodes) {
  NewManifestOptions opt;
  opt.vcpus_per_node = 2;
  opt.cache_mib = 4;
  ClusterManifest m = NewManifest({"n1", "n2", "n3"}, opt);
  for (const Node& n : m.nodes) EXPECT_EQ(n.cache_mib, 4u);
  AddNode(&m, "n4", {});
  EXPECT_EQ(m.nodes[3].cache_mib, 4u);
  AddNodeOptions automatic;
  automatic.cache_mib = 0;
  AddNode(&m, "n5", automatic);
  EXPECT_EQ(m.nodes[4].cache_mib, 0u);
  EXPECT_EQ(RemoveNode(&m, "n2"), "n1");
  EXPECT_EQ(m.nodes[0].vcpus, (VcpuRange{0, 3}));
  EXPECT_EQ(m.nodes[0].cache_mib, 8u);  // 4 vCPUs: 2 MiB each
  EXPECT_EQ(RemoveNode(&m, "n5"), "n4");
  EXPECT_EQ(m.nodes[2].cache_mib, 8u);
  EXPECT_TRUE(Validate(m).empty());
  opt.cache_mib = 7;  // 2 vCPUs each: 4 would do, but 7 > 4 is fine; 3 is not
  EXPECT_NO_THROW(NewManifest({"n1"}, opt));
  opt.cache_mib = 3;
  try {
    NewManifest({"n1"}, opt);
    ADD_FAILURE() << "accepted --cache-mib 3";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--cache-mib 3 MiB is less than the minimum of 4 MiB", 0),
              0u)
        << e.what();
  }
}

TEST(RemoveNode, FirstNodeGivesRangeToNext) {
  ClusterManifest m = Three();
  EXPECT_EQ(RemoveNode(&m, "n1"), "n2");
  EXPECT_EQ(m.nodes[0].name, "n2");
  EXPECT_EQ(m.nodes[0].vcpus, (VcpuRange{0, 3}));
}

TEST(RemoveNode, Errors) {
  ClusterManifest m = Three();
  try {
    RemoveNode(&m, "nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "no node named 'nope' (nodes: n1, n2, n3)");
  }
  RemoveNode(&m, "n1");
  RemoveNode(&m, "n3");
  EXPECT_THROW(RemoveNode(&m, "n2"), Error);
  EXPECT_EQ(m.epoch, 3u);
}

}  // namespace
}  // namespace ssivm::provision

namespace ssivm::provision {
namespace {

TEST(SyncHosts, NoChangeIsNoChange) {
  ClusterManifest m = Three();
  EXPECT_TRUE(SyncHosts(&m, {"n1", "n2", "n3"}, {}).empty());
  EXPECT_EQ(m, Three());
}

TEST(SyncHosts, AddsAndRemovesWithOneEpochBump) {
  ClusterManifest m = Three();
  std::vector<std::string> changes = SyncHosts(&m, {"n1", "n3", "n4"}, {});
  EXPECT_EQ(changes, (std::vector<std::string>{"added n4 (id 3)",
                                               "removed n2 (its vCPUs and memory went to n1)"}));
  EXPECT_EQ(m.epoch, 2u);
  ASSERT_EQ(m.nodes.size(), 3u);
  EXPECT_EQ(m.nodes[0].id, 0u);
  EXPECT_EQ(m.nodes[1].id, 2u);
  EXPECT_EQ(m.nodes[2].id, 3u);
  EXPECT_TRUE(Validate(m).empty());
  // Idempotent: the same list again changes nothing.
  ClusterManifest again = m;
  EXPECT_TRUE(SyncHosts(&again, {"n1", "n3", "n4"}, {}).empty());
  EXPECT_EQ(again, m);
}

TEST(SyncHosts, ReplacesEveryNode) {
  ClusterManifest m = Three();
  SyncHosts(&m, {"x"}, {});
  ASSERT_EQ(m.nodes.size(), 1u);
  EXPECT_EQ(m.nodes[0].host, "x");
  EXPECT_EQ(m.nodes[0].vcpus, (VcpuRange{0, 7}));
  EXPECT_EQ(m.epoch, 2u);
}

}  // namespace
}  // namespace ssivm::provision

#include "tools/ssictl/cluster_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ssivm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

provision::ClusterManifest ThreeNodesOnTwoHosts() {
  provision::ClusterManifest m;
  m.cluster_id = "lab";
  m.epoch = 4;
  m.guest.kernel = "/home/me/guest.elf";
  m.guest.initrd = "/home/me/initrd.img";
  m.guest.vcpus_total = 3;
  m.guest.vcpus_online = 3;
  for (uint32_t k = 0; k < 3; ++k) {
    m.nodes.push_back({k,
                       "n" + std::to_string(k),
                       k == 2 ? "hostA" : (k ? "hostB" : "hostA"),
                       "10.0.0." + std::to_string(k + 1) + ":7400",
                       {k, k},
                       uint64_t{64} * (k + 1)});
  }
  return m;
}

TEST(Plan, GroupsNodesByHostInManifestOrder) {
  const std::vector<PlannedHost> hosts = GroupByHost(ThreeNodesOnTwoHosts());
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0].host, "hostA");
  EXPECT_THAT(hosts[0].nodes, ElementsAre(0u, 2u));
  EXPECT_EQ(hosts[0].memory_mib, 64u + 192u);
  EXPECT_EQ(hosts[1].host, "hostB");
  EXPECT_THAT(hosts[1].nodes, ElementsAre(1u));
}

TEST(Plan, ThePushedManifestNamesThePushedImage) {
  const HostFiles files{DefaultRemoteDir("lab")};
  EXPECT_EQ(files.dir, "/var/lib/ssivm/lab");
  provision::ClusterManifest m = PushedManifest(ThreeNodesOnTwoHosts(), files);
  EXPECT_EQ(m.guest.kernel, "/var/lib/ssivm/lab/guest-kernel");
  EXPECT_EQ(m.guest.initrd, "/var/lib/ssivm/lab/guest-initrd");
  m.guest.kernel = ThreeNodesOnTwoHosts().guest.kernel;
  m.guest.initrd = ThreeNodesOnTwoHosts().guest.initrd;
  EXPECT_EQ(m, ThreeNodesOnTwoHosts());  // nothing else changed
  provision::ClusterManifest no_initrd = ThreeNodesOnTwoHosts();
  no_initrd.guest.initrd.clear();
  EXPECT_EQ(PushedManifest(no_initrd, files).guest.initrd, "");
}

TEST(Plan, CommandLinesQuoteWhatTheyMust) {
  const HostFiles files{"/srv/my dir"};
  EXPECT_EQ(StartCommand("ssivm", files, 2, "none", false),
            "mkdir -p '/srv/my dir' && echo $$ > '/srv/my dir/node2.pid' && exec ssivm "
            "--manifest '/srv/my dir/cluster.toml' --node 2 --console none --control '/srv/my "
            "dir/node2.sock'");
  EXPECT_EQ(StartCommand("/opt/ssivm", HostFiles{"/d"}, 0, "socket:/d/console.sock", true),
            "mkdir -p /d && cd / && { setsid /opt/ssivm --manifest /d/cluster.toml --node 0 "
            "--console socket:/d/console.sock --control /d/node0.sock < /dev/null > /d/node0.log "
            "2>&1 & echo $! > /d/node0.pid; }");
  // `up --placement off` overrides the manifest's on the node's command line.
  EXPECT_EQ(StartCommand("ssivm", HostFiles{"/d"}, 1, "none", false, "off"),
            "mkdir -p /d && echo $$ > /d/node1.pid && exec ssivm --manifest /d/cluster.toml "
            "--node 1 --console none --control /d/node1.sock --placement off");
  EXPECT_EQ(QueryCommand("ssivm", HostFiles{"/d"}, 1, "status"),
            "ssivm --query status --control /d/node1.sock");
  // Kill only a process that still is an ssivm (the pid may have been reused).
  EXPECT_EQ(KillCommand(HostFiles{"/d"}, 1),
            "p=$(cat /d/node1.pid 2>/dev/null) && [ -n \"$p\" ] && grep -q ssivm "
            "/proc/$p/cmdline 2>/dev/null && kill -KILL $p && echo killed $p");
  EXPECT_EQ(AliveCommand(HostFiles{"/d"}, 1),
            "p=$(cat /d/node1.pid 2>/dev/null) && [ -n \"$p\" ] && kill -0 $p");
}

std::vector<NodeState> States(std::vector<std::optional<uint64_t>> epochs) {
  std::vector<NodeState> s;
  for (uint32_t k = 0; k < epochs.size(); ++k) {
    s.push_back({k, k == 1 ? "hostB" : "hostA", epochs[k].has_value(), epochs[k]});
  }
  return s;
}

// `up --nodes 2 --vcpus-per-node 2 --placement off --cache-mib 64`: every
// node reads placement = "off" and its cache_mib = 64 from the manifest it is
// given; without --cache-mib no node has the key (automatic).
TEST(Plan, UpNodesWritesItsOptionsIntoTheManifest) {
  UpOptions up;
  up.cmdline = "ssi.shell=1";
  up.placement = "off";
  ClusterUpOptions opt;
  opt.nodes = 2;
  opt.vcpus_per_node = 2;
  opt.memory_per_node_mib = 64;
  opt.cache_mib = 64;
  const std::vector<std::string> addresses = {"10.9.0.1:7400", "10.9.0.2:7400"};
  const provision::ClusterManifest m = LocalManifest("lab", "/k/guest.elf", up, opt, addresses);
  EXPECT_THAT(provision::Validate(m), ::testing::IsEmpty());
  const std::string text = provision::Write(m);
  EXPECT_THAT(text, HasSubstr("placement = \"off\"\n")) << text;
  EXPECT_FALSE(provision::Parse(text, "cluster.toml").placement);
  EXPECT_THAT(text, HasSubstr("memory_mib = 64\ncache_mib = 64\n\n[[nodes]]")) << text;
  for (const provision::Node& n : provision::Parse(text, "cluster.toml").nodes) {
    EXPECT_EQ(n.cache_mib, 64u) << n.name;
  }
  EXPECT_EQ(m.transport_security, cluster::TransportSecurity::kEncrypted);
  EXPECT_EQ(m.guest.kernel, "/k/guest.elf");
  EXPECT_EQ(m.guest.cmdline, "ssi.shell=1");
  EXPECT_EQ(m.guest.vcpus_total, 4u);
  ASSERT_EQ(m.nodes.size(), 2u);
  EXPECT_EQ(m.nodes[1].name, "node1");
  EXPECT_EQ(m.nodes[1].address, "10.9.0.2:7400");
  EXPECT_EQ(m.nodes[1].vcpus, (provision::VcpuRange{2, 3}));
  up.placement = "";  // not given: on
  opt.insecure_transport = true;
  opt.cache_mib = 0;  // not given: automatic
  const provision::ClusterManifest defaults = LocalManifest("lab", "/k", up, opt, addresses);
  EXPECT_TRUE(defaults.placement);
  EXPECT_EQ(defaults.transport_security, cluster::TransportSecurity::kNone);
  EXPECT_THAT(provision::Write(defaults), ::testing::Not(HasSubstr("cache_mib")));
}

TEST(Plan, UpStartsOnlyWhenNothingRuns) {
  const provision::ClusterManifest m = ThreeNodesOnTwoHosts();
  EXPECT_EQ(DecideUp(m, States({{}, {}, {}})).kind, UpDecision::kStart);
  const UpDecision same = DecideUp(m, States({4, 4, 4}));
  EXPECT_EQ(same.kind, UpDecision::kAlreadyRunning);
  EXPECT_THAT(same.message, HasSubstr("already runs with epoch 4 on all 3 nodes"));
  const UpDecision older = DecideUp(m, States({3, 3, 3}));
  EXPECT_EQ(older.kind, UpDecision::kRefuse);
  EXPECT_THAT(older.message, HasSubstr("node 1 on hostB (epoch 3)"));
  EXPECT_THAT(older.message, HasSubstr("hot-add"));
  EXPECT_THAT(older.message, HasSubstr("admin's decision"));
  const UpDecision partly = DecideUp(m, States({4, {}, 4}));
  EXPECT_EQ(partly.kind, UpDecision::kRefuse);
  EXPECT_THAT(partly.message, HasSubstr("node 2 on hostA (epoch 4)"));
  EXPECT_THAT(partly.message, ::testing::Not(HasSubstr("node 1 on")));
}

}  // namespace
}  // namespace ssivm

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "provision/manifest/manifest.h"

namespace ssivm::provision {
namespace {

ClusterManifest Sample() {
  ClusterManifest m;
  m.cluster_id = "lab";
  m.epoch = 7;
  m.transport_security = cluster::TransportSecurity::kAuthenticated;
  m.heartbeat_timeout_ms = 2500;
  m.placement = false;
  m.guest.kernel = "/boot/guest \"x\".elf";
  m.guest.initrd = "/boot/initrd";
  m.guest.cmdline = "console=ttyS0 a=\\b\ttab";
  m.guest.vcpus_total = 5;
  m.guest.vcpus_online = 3;
  m.guest.page_size_kib = 2048;
  m.nodes.push_back({3, "n3", "node3", "10.0.0.3:7400", {0, 1}, 512});
  m.nodes.push_back({0, "n0", "node0.example", "[fd00::1]:7401", {2, 4}, 1024, 64});
  return m;
}

// Parse text that must be rejected; returns the error message.
std::string Reject(const std::string& text) {
  try {
    Parse(text, "c.toml");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return "";
}

TEST(ManifestParse, RoundTrip) {
  ClusterManifest m = Sample();
  std::string text = Write(m);
  ClusterManifest back = Parse(text, "c.toml");
  EXPECT_EQ(back, m);
  EXPECT_EQ(Write(back), text);  // byte-identical
}

TEST(ManifestParse, WriteIsDeterministicAndReadable) {
  EXPECT_EQ(Write(Sample()), Write(Sample()));
  std::string text = Write(Sample());
  EXPECT_NE(text.find("[[nodes]]\nid = 3\nname = \"n3\""), std::string::npos) << text;
  EXPECT_NE(text.find("vcpus = { first = 2, last = 4 }"), std::string::npos) << text;
  EXPECT_NE(text.find("heartbeat_timeout_ms = 2500\nplacement = \"off\"\n\n[guest]"),
            std::string::npos)
      << text;
}

TEST(ManifestParse, TransportKeysHaveSafeDefaultsAndAreChecked) {
  std::string text = Write(Sample());
  text.replace(text.find("transport_security = \"authenticated\"\n"),
               std::string("transport_security = \"authenticated\"\n").size(), "");
  text.replace(text.find("heartbeat_timeout_ms = 2500\n"),
               std::string("heartbeat_timeout_ms = 2500\n").size(), "");
  const ClusterManifest m = Parse(text, "c.toml");
  EXPECT_EQ(m.transport_security, cluster::TransportSecurity::kEncrypted);
  EXPECT_EQ(m.heartbeat_timeout_ms, 5000u);
  std::string bad = Write(Sample());
  bad.replace(bad.find("\"authenticated\""), 15, "\"plain\"");
  EXPECT_NE(Reject(bad).find("transport_security: 'plain' is not one of encrypted, "
                             "authenticated, none"),
            std::string::npos);
  std::string fast = Write(Sample());
  fast.replace(fast.find("= 2500"), 6, "= 5");
  EXPECT_NE(Reject(fast).find("heartbeat_timeout_ms: 5 is out of range"), std::string::npos);
}

// Leaving the key out means on; anything but "on" and "off" is refused by name.
TEST(ManifestParse, PlacementIsOnUnlessTheManifestSaysOff) {
  const std::string off_line = "placement = \"off\"\n";
  const std::string text = Write(Sample());
  ASSERT_NE(text.find(off_line), std::string::npos) << text;
  EXPECT_FALSE(Parse(text, "c.toml").placement);
  std::string missing = text;
  missing.erase(missing.find(off_line), off_line.size());
  EXPECT_TRUE(Parse(missing, "c.toml").placement);
  std::string maybe = text;
  maybe.replace(maybe.find(off_line), off_line.size(), "placement = \"maybe\"\n");
  EXPECT_NE(Reject(maybe).find("c.toml:6: placement: 'maybe' is not one of on, off"),
            std::string::npos)
      << Reject(maybe);
  std::string boolean = text;
  boolean.replace(boolean.find(off_line), off_line.size(), "placement = false\n");
  EXPECT_NE(Reject(boolean).find("placement: must be a string, not a boolean"), std::string::npos)
      << Reject(boolean);
}

TEST(ManifestParse, ExampleFileIsValid) {
  ClusterManifest m = Load("provision/examples/cluster.toml");
  EXPECT_EQ(m.cluster_id, "lab");
  EXPECT_EQ(m.epoch, 3u);
  ASSERT_EQ(m.nodes.size(), 3u);
  EXPECT_EQ(m.nodes[2].id, 4u);
  EXPECT_EQ(m.nodes[2].address, "[fd00::5]:7400");
  EXPECT_EQ(m.guest.vcpus_online, 4u);
  EXPECT_EQ(m.TotalMemoryMib(), 3072u);
  EXPECT_EQ(m.nodes[0].cache_mib, 512u);
  EXPECT_EQ(m.nodes[1].cache_mib, 0u);
}

TEST(ManifestParse, DefaultsForOptionalKeys) {
  ClusterManifest m = Parse(
      "cluster_id = \"c\"\nepoch = 1\n[guest]\nvcpus_total = 1\n"
      "[[nodes]]\nid = 0\nname = \"a\"\nhost = \"a\"\naddress = \"a:1\"\n"
      "vcpus = { first = 0, last = 0 }\nmemory_mib = 64\n",
      "c.toml");
  EXPECT_EQ(m.guest.vcpus_online, 1u);
  EXPECT_EQ(m.guest.page_size_kib, 4u);
  EXPECT_EQ(m.guest.kernel, "");
  EXPECT_TRUE(m.placement);
  EXPECT_NE(Write(m).find("placement = \"on\"\n"), std::string::npos) << Write(m);
}

TEST(ManifestParse, SyntaxErrorNamesFile) {
  std::string e = Reject("cluster_id = = 1\n");
  EXPECT_NE(e.find("c.toml"), std::string::npos) << e;
  EXPECT_NE(e.find("TOML syntax error"), std::string::npos) << e;
}

const char kBase[] =
    "cluster_id = \"c\"\nepoch = 1\n[guest]\nvcpus_total = 1\n"
    "[[nodes]]\nid = 0\nname = \"a\"\nhost = \"a\"\naddress = \"a:1\"\n"
    "vcpus = { first = 0, last = 0 }\nmemory_mib = 64\n";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ManifestParse, UnknownKeys) {
  std::string e = Reject(Replace(kBase, "epoch = 1\n", "epoch = 1\ncolour = \"red\"\n"));
  EXPECT_NE(e.find("c.toml:3: colour: unknown key"), std::string::npos) << e;
  e = Reject(Replace(kBase, "memory_mib = 64\n", "memory_mib = 64\nmemroy = 2\n"));
  EXPECT_NE(e.find("nodes[0].memroy: unknown key"), std::string::npos) << e;
  e = Reject(Replace(kBase, "vcpus_total = 1\n", "vcpus_total = 1\nvcpu = 1\n"));
  EXPECT_NE(e.find("guest.vcpu: unknown key"), std::string::npos) << e;
  e = Reject(Replace(kBase, "last = 0 }", "last = 0, step = 1 }"));
  EXPECT_NE(e.find("nodes[0].vcpus.step: unknown key"), std::string::npos) << e;
}

TEST(ManifestParse, WrongTypes) {
  std::string e = Reject(Replace(kBase, "epoch = 1", "epoch = \"1\""));
  EXPECT_NE(e.find("c.toml:2: epoch: must be a integer, not a string"), std::string::npos) << e;
  e = Reject(Replace(kBase, "memory_mib = 64", "memory_mib = 64.0"));
  EXPECT_NE(e.find("nodes[0].memory_mib: must be a integer, not a floating"), std::string::npos)
      << e;
  e = Reject(Replace(kBase, "vcpus = { first = 0, last = 0 }", "vcpus = [0, 0]"));
  EXPECT_NE(e.find("nodes[0].vcpus: must be a table, not a array"), std::string::npos) << e;
  e = Reject(Replace(kBase, "[guest]\nvcpus_total = 1\n", "guest = 3\n"));
  EXPECT_NE(e.find("guest: must be a table, not a integer"), std::string::npos) << e;
}

TEST(ManifestParse, MissingKeys) {
  std::string e = Reject(Replace(kBase, "host = \"a\"\n", ""));
  EXPECT_NE(e.find("nodes[0].host: missing"), std::string::npos) << e;
  e = Reject(Replace(kBase, "cluster_id = \"c\"\n", ""));
  EXPECT_NE(e.find("cluster_id: missing"), std::string::npos) << e;
  e = Reject("cluster_id = \"c\"\nepoch = 1\n[guest]\nvcpus_total = 1\n");
  EXPECT_NE(e.find("nodes: missing"), std::string::npos) << e;
  e = Reject(Replace(kBase, "first = 0, ", ""));
  EXPECT_NE(e.find("nodes[0].vcpus.first: missing"), std::string::npos) << e;
}

TEST(ManifestParse, IntegersOutOfRange) {
  std::string e = Reject(Replace(kBase, "id = 0", "id = 64"));
  EXPECT_NE(e.find("nodes[0].id: 64 is out of range 0-63"), std::string::npos) << e;
  e = Reject(Replace(kBase, "id = 0", "id = -1"));
  EXPECT_NE(e.find("nodes[0].id: -1 is out of range"), std::string::npos) << e;
  e = Reject(Replace(kBase, "epoch = 1", "epoch = 0"));
  EXPECT_NE(e.find("epoch: 0 is out of range 1-"), std::string::npos) << e;
  e = Reject(Replace(kBase, "vcpus_total = 1", "vcpus_total = 99999999999"));
  EXPECT_NE(e.find("guest.vcpus_total: 99999999999 is out of range"), std::string::npos) << e;
}

TEST(ManifestParse, NodesMustBeTables) {
  std::string e = Reject("cluster_id = \"c\"\nepoch = 1\nnodes = [1]\n[guest]\nvcpus_total = 1\n");
  EXPECT_NE(e.find("nodes[0]: must be a table"), std::string::npos) << e;
}

TEST(ManifestParse, SemanticErrorsCarryLines) {
  std::string e = Reject(Replace(kBase, "address = \"a:1\"", "address = \"a:0\""));
  EXPECT_NE(e.find("c.toml:9: nodes[0].address: 'a:0': port 0 is out of range 1-65535"),
            std::string::npos)
      << e;
}

TEST(ManifestParse, ReportsEveryProblemAtOnce) {
  std::string text = Replace(kBase, "epoch = 1\n", "epoch = 1\nx = 1\n");
  text = Replace(text, "host = \"a\"\n", "");
  std::string e = Reject(text);
  EXPECT_NE(e.find("x: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("nodes[0].host: missing"), std::string::npos) << e;
}

TEST(ManifestParse, GarbageNeverCrashes) {
  const char* inputs[] = {"",
                          "\x01\x02",
                          "[[nodes]]\n[[nodes]]\n",
                          "nodes = 3",
                          "[guest]\n[guest]\n",
                          "a = [1, \"x\"]",
                          R"(cluster_id = "\uD800")"};
  for (const char* in : inputs) {
    EXPECT_THROW(Parse(in, "g.toml"), Error) << in;
  }
}

// toml11 read out of bounds on a literal string that is not UTF-8 (found by
// //provision/manifest:manifest_fuzz; the read shows under --config=asan).
TEST(ManifestParse, TextThatIsNotUtf8IsRefusedNamingTheLine) {
  for (const char* bad : {"cluster_id = 'lab\xac'\n", "x = '''lab\xe9\n'''\n"}) {
    const std::string e = Reject(std::string("# lab\n") + bad);
    EXPECT_NE(e.find("c.toml:2: byte 0x"), std::string::npos) << e;
    EXPECT_NE(e.find("is not UTF-8"), std::string::npos) << e;
  }
}

TEST(ManifestLoad, MissingFile) {
  try {
    Load("/nonexistent/cluster.toml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cluster.toml"), std::string::npos);
  }
}

// `cache_mib` is written only when set, so a manifest without it keeps its
// bytes; when set it must be a number of MiB, within kMaxMemoryMib and at
// least the minimum for the node's vCPUs, each refused naming file, line and key.
TEST(ManifestParse, CacheMibIsOptionalAndChecked) {
  const std::string text = Write(Sample());
  EXPECT_NE(text.find("memory_mib = 1024\ncache_mib = 64\n"), std::string::npos) << text;
  EXPECT_EQ(Parse(text, "c.toml").nodes[1].cache_mib, 64u);
  EXPECT_EQ(Parse(text, "c.toml").nodes[0].cache_mib, 0u);  // left out: automatic
  EXPECT_EQ(Write(Parse(kBase, "c.toml")), Write(Parse(kBase, "c.toml")));
  EXPECT_EQ(Write(Parse(kBase, "c.toml")).find("cache_mib"), std::string::npos);
  const std::string with = std::string(kBase) + "cache_mib = 6\n";
  EXPECT_EQ(Parse(with, "c.toml").nodes[0].cache_mib, 6u);
  EXPECT_EQ(Parse(Replace(with, "cache_mib = 6", "cache_mib = 0"), "c.toml").nodes[0].cache_mib,
            0u);
  std::string e = Reject(Replace(with, "cache_mib = 6", "cache_mib = \"lots\""));
  EXPECT_NE(e.find("c.toml:12: nodes[0].cache_mib: must be a integer, not a string"),
            std::string::npos)
      << e;
  e = Reject(Replace(with, "cache_mib = 6", "cache_mib = -1"));
  EXPECT_NE(e.find("c.toml:12: nodes[0].cache_mib: -1 is out of range"), std::string::npos) << e;
  e = Reject(Replace(with, "cache_mib = 6", "cache_mib = 16777217"));
  EXPECT_NE(e.find("c.toml:12: nodes[0].cache_mib: 16777217 MiB is more than 16777216 MiB"),
            std::string::npos)
      << e;
  e = Reject(Replace(with, "cache_mib = 6", "cache_mib = 3"));
  EXPECT_NE(
      e.find("c.toml:12: nodes[0].cache_mib: 3 MiB is less than the minimum of 4 MiB for "
             "the node's 1 vCPU (2 MiB per vCPU, at least 4 MiB: one instruction and the guest "
             "kernel's page-table walk can need several pages of other nodes at once); "
             "leave it out for automatic"),
      std::string::npos)
      << e;
}

}  // namespace
}  // namespace ssivm::provision

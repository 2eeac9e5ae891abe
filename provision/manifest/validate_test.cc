// One test per validation rule: each names the key and the problem.
#include <gtest/gtest.h>

#include <string>

#include "provision/manifest/manifest.h"

namespace ssivm::provision {
namespace {

ClusterManifest Valid() {
  ClusterManifest m;
  m.cluster_id = "lab";
  m.guest.vcpus_total = 4;
  m.guest.vcpus_online = 4;
  m.nodes.push_back({0, "a", "a", "a:7400", {0, 1}, 256});
  m.nodes.push_back({1, "b", "b", "b:7400", {2, 3}, 256});
  return m;
}

// The problems of m, one per line "key: message".
std::string Problems(const ClusterManifest& m) {
  std::string out;
  for (const Problem& p : Validate(m)) out += p.key + ": " + p.message + "\n";
  return out;
}

TEST(ManifestValidate, ValidHasNoProblems) {
  EXPECT_EQ(Problems(Valid()), "");
}

TEST(ManifestValidate, DuplicateId) {
  ClusterManifest m = Valid();
  m.nodes[1].id = 0;
  EXPECT_EQ(Problems(m), "nodes[1].id: duplicate id '0' (also nodes[0])\n");
}

TEST(ManifestValidate, DuplicateName) {
  ClusterManifest m = Valid();
  m.nodes[1].name = "a";
  EXPECT_EQ(Problems(m), "nodes[1].name: duplicate name 'a' (also nodes[0])\n");
}

TEST(ManifestValidate, DuplicateAddress) {
  ClusterManifest m = Valid();
  m.nodes[1].address = "a:7400";
  EXPECT_EQ(Problems(m), "nodes[1].address: duplicate address 'a:7400' (also nodes[0])\n");
}

TEST(ManifestValidate, OverlappingRanges) {
  ClusterManifest m = Valid();
  m.nodes[1].vcpus = {1, 3};
  EXPECT_EQ(Problems(m), "nodes[1].vcpus: 1..3 overlaps nodes[0].vcpus (0..1)\n");
}

TEST(ManifestValidate, GapBetweenRanges) {
  ClusterManifest m = Valid();
  m.guest.vcpus_total = 5;
  m.guest.vcpus_online = 5;
  m.nodes[1].vcpus = {3, 4};
  EXPECT_EQ(Problems(m), "nodes[1].vcpus: gap: no node hosts vCPUs 2..2\n");
}

TEST(ManifestValidate, GapAtStart) {
  ClusterManifest m = Valid();
  m.nodes[0].vcpus = {1, 1};
  EXPECT_EQ(Problems(m), "nodes[0].vcpus: gap: no node hosts vCPUs 0..0\n");
}

TEST(ManifestValidate, RangesDoNotCoverTotal) {
  ClusterManifest m = Valid();
  m.guest.vcpus_total = 6;
  EXPECT_EQ(Problems(m), "nodes: no node hosts vCPUs 4..5 (guest.vcpus_total is 6)\n");
}

TEST(ManifestValidate, RangesBeyondTotal) {
  ClusterManifest m = Valid();
  m.guest.vcpus_total = 3;
  m.guest.vcpus_online = 3;
  EXPECT_EQ(Problems(m), "nodes[1].vcpus: 2..3 goes beyond guest.vcpus_total (3)\n");
}

TEST(ManifestValidate, ReversedRange) {
  ClusterManifest m = Valid();
  m.nodes[1].vcpus = {3, 2};
  std::string p = Problems(m);
  EXPECT_NE(p.find("nodes[1].vcpus: first (3) is greater than last (2)"), std::string::npos) << p;
}

TEST(ManifestValidate, ZeroMemory) {
  ClusterManifest m = Valid();
  m.nodes[0].memory_mib = 0;
  EXPECT_EQ(Problems(m), "nodes[0].memory_mib: must not be zero\n");
}

TEST(ManifestValidate, MemoryNotPageAligned) {
  ClusterManifest m = Valid();
  m.guest.page_size_kib = 2048;
  m.nodes[1].memory_mib = 255;
  EXPECT_EQ(Problems(m),
            "nodes[1].memory_mib: 255 MiB is not a multiple of the guest page size (2048 KiB)\n");
  m.guest.page_size_kib = 1048576;
  m.nodes[1].memory_mib = 1024;
  EXPECT_EQ(
      Problems(m),
      "nodes[0].memory_mib: 256 MiB is not a multiple of the guest page size (1048576 KiB)\n");
}

TEST(ManifestValidate, BadPageSize) {
  ClusterManifest m = Valid();
  m.guest.page_size_kib = 8;
  EXPECT_EQ(Problems(m), "guest.page_size_kib: 8 is not a page size (4, 2048 or 1048576)\n");
}

TEST(ManifestValidate, BadAddresses) {
  struct Case {
    const char* address;
    const char* message;
  } cases[] = {
      {"a", "'a': missing ':port' (expected host:port)"},
      {"a:", "'a:': port '' is not a number"},
      {"a:x1", "'a:x1': port 'x1' is not a number"},
      {"a:65536", "'a:65536': port 65536 is out of range 1-65535"},
      {"a:0", "'a:0': port 0 is out of range 1-65535"},
      {"fd00::1:80", "'fd00::1:80': IPv6 addresses must be written [address]:port"},
      {"[fd00::1:80", "'[fd00::1:80': missing ']' after the IPv6 address"},
      {"[zz::1]:80", "'[zz::1]:80': invalid IPv6 address"},
      {"300.1.1.1:80", "'300.1.1.1:80': invalid IPv4 address"},
      {"bad_-host!:80", "'bad_-host!:80': invalid character '!' in host name"},
      {"-a:80", "'-a:80': host name label starts or ends with '-'"},
      {"a..b:80", "'a..b:80': empty label in host name"},
      {":80", "':80': empty host"},
  };
  for (const Case& c : cases) {
    ClusterManifest m = Valid();
    m.nodes[1].address = c.address;
    EXPECT_EQ(Problems(m), std::string("nodes[1].address: ") + c.message + "\n");
  }
}

TEST(ManifestValidate, GoodAddresses) {
  for (const char* a : {"b:1", "10.0.0.1:65535", "[::1]:7400", "n-1.example.org:7400"}) {
    ClusterManifest m = Valid();
    m.nodes[1].address = a;
    EXPECT_EQ(Problems(m), "") << a;
  }
}

TEST(ManifestValidate, BadHostAndName) {
  ClusterManifest m = Valid();
  m.nodes[0].host = "a b";
  m.nodes[1].name = "b/c";
  EXPECT_EQ(Problems(m),
            "nodes[0].host: 'a b': invalid character ' ' in host name\n"
            "nodes[1].name: invalid character '/' (allowed: A-Z a-z 0-9 . _ -)\n");
}

TEST(ManifestValidate, GuestCounts) {
  ClusterManifest m = Valid();
  m.guest.vcpus_online = 5;
  EXPECT_EQ(Problems(m), "guest.vcpus_online: 5 is more than guest.vcpus_total (4)\n");
  m.guest.vcpus_online = 0;
  EXPECT_EQ(Problems(m), "guest.vcpus_online: must be at least 1\n");
}

TEST(ManifestValidate, ClusterIdAndEpoch) {
  ClusterManifest m = Valid();
  m.cluster_id = "";
  m.epoch = 0;
  EXPECT_EQ(Problems(m), "cluster_id: must not be empty\nepoch: must be at least 1\n");
}

TEST(ManifestValidate, NoNodes) {
  ClusterManifest m = Valid();
  m.nodes.clear();
  EXPECT_EQ(Problems(m), "nodes: the cluster has no nodes\n");
}

TEST(ManifestValidate, FormatProblemsNamesFileAndLine) {
  std::vector<Problem> p = {{"nodes[1].id", "bad", 12}, {"epoch", "worse", 0}};
  EXPECT_EQ(FormatProblems("c.toml", p), "c.toml:12: nodes[1].id: bad\nc.toml: epoch: worse\n");
}

// cache_mib: 0 is automatic; else at least 2 MiB per vCPU of the node (4 at
// least) and at most kMaxMemoryMib.
TEST(ManifestValidate, CacheMib) {
  ClusterManifest m = Valid();
  m.nodes[0].cache_mib = 4;  // two vCPUs: exactly the minimum
  m.nodes[1].cache_mib = 0;
  EXPECT_EQ(Problems(m), "");
  m.guest.vcpus_total = 6;
  m.guest.vcpus_online = 6;
  m.nodes[1].vcpus = {2, 5};
  m.nodes[1].cache_mib = 7;
  EXPECT_EQ(
      Problems(m),
      "nodes[1].cache_mib: 7 MiB is less than the minimum of 8 MiB for the node's 4 vCPUs (2 MiB "
      "per vCPU, at least 4 MiB: one instruction and the guest kernel's page-table walk can "
      "need several pages of other nodes at once); leave it out for automatic\n");
  m.nodes[1].cache_mib = kMaxMemoryMib + 1;
  EXPECT_EQ(Problems(m), "nodes[1].cache_mib: 16777217 MiB is more than 16777216 MiB\n");
  EXPECT_EQ(MinCacheMib(1), 4u);
  EXPECT_EQ(MinCacheMib(2), 4u);
  EXPECT_EQ(MinCacheMib(3), 6u);
}

}  // namespace
}  // namespace ssivm::provision

// The DSM benchmark runs and prints its JSON schema, on loopback (with the
// guest's measurement) and between network namespaces (which it removes
// afterwards). Never asserts times: only that numbers are there and sane.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/command.h"
#include "tests/support/subprocess.h"

namespace ssivm {
namespace {

using testing::Describe;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;
using testing::RunProcess;

const char kBench[] = "tools/bench/dsm_latency";

void ExpectSummary(const nlohmann::json& s, const std::string& what) {
  ASSERT_TRUE(s.contains("median_us")) << what;
  EXPECT_GT(s["median_us"].get<double>(), 0) << what;
  EXPECT_GE(s["p99_us"].get<double>(), s["median_us"].get<double>()) << what;
}

// Without a usable /dev/kvm the whole benchmark runs in the emulated
// hardware-KVM machine, floors too, and says so.
TEST(DsmLatency, LoopbackWithTheGuestsMeasurement) {
  const ProcessResult r =
      RunProcess({kBench, "--net", "loopback", "--pages", "20", "--guest-pages", "20"}, "",
                 std::chrono::seconds(600));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const auto j = nlohmann::json::parse(r.out);
  const bool host_kvm = ::access("/dev/kvm", R_OK | W_OK) == 0;
  EXPECT_EQ(j["runtime"]["kvm"], host_kvm ? "host" : "emulated") << r.out;
  EXPECT_GT(j["runtime"]["cpus"].get<int>(), 0) << r.out;
  ASSERT_TRUE(j["nets"].contains("loopback")) << r.out;
  EXPECT_FALSE(j["nets"].contains("netns")) << r.out;
  const auto& s = j["nets"]["loopback"];
  ExpectSummary(s["floors"]["tcp_4k_request_response"], "tcp floor");
  ExpectSummary(s["floors"]["local_uffd_fault"], "uffd floor");
  ExpectSummary(s["host_threads"]["remote_read_fault"], "host read");
  EXPECT_EQ(s["host_threads"]["remote_read_fault"]["samples"], 20);
  ExpectSummary(s["guest_vcpu"]["floor_local_fault"], "guest local fault");
  ExpectSummary(s["guest_vcpu"]["remote_read_fault"], "guest read");
  EXPECT_EQ(s["guest_vcpu"]["pages"], 20);
  EXPECT_GT(s["ratios"]["guest_remote_read_vs_rtt_plus_guest_local_fault"].get<double>(), 0);
  EXPECT_GT(s["ratios"]["host_remote_read_vs_rtt_plus_local_fault"].get<double>(), 0);
}

TEST(DsmLatency, BetweenNetworkNamespacesAndCleansUp) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const ProcessResult r = RunProcess({kBench, "--net", "netns", "--pages", "20", "--no-guest"}, "",
                                     std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j["nets"].contains("netns")) << r.out;
  const auto& s = j["nets"]["netns"];
  ExpectSummary(s["floors"]["tcp_4k_request_response"], "tcp floor between namespaces");
  ExpectSummary(s["host_threads"]["remote_read_fault"], "read between namespaces");
  ExpectSummary(s["host_threads"]["write_upgrade"], "upgrade between namespaces");
  EXPECT_EQ(s["host_threads"]["node1_stats"]["pages_received"], 60);
  EXPECT_FALSE(s.contains("guest_vcpu"));
  // Its namespaces are gone (only this benchmark names them ssivm-bd*).
  EXPECT_THAT(RunCommand({"ip", "netns", "list"}).output, Not(HasSubstr("ssivm-bd")));
}

}  // namespace
}  // namespace ssivm

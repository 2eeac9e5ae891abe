// The migration benchmark runs a few moves and prints its JSON schema. Never
// asserts times: only that the numbers are there and sane.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/subprocess.h"

namespace ssivm {
namespace {

using testing::Describe;
using testing::ProcessResult;
using testing::RunProcess;

TEST(MigrationDowntime, MovesAVcpuAndMeasuresItsFloor) {
  const ProcessResult r =
      RunProcess({"tools/bench/migration_downtime", "--moves", "6"}, "", std::chrono::seconds(900));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["moves"], 6) << r.out;
  EXPECT_EQ(j["downtime"]["samples"], 6) << r.out;
  EXPECT_GT(j["downtime"]["median_us"].get<double>(), 0) << r.out;
  EXPECT_GE(j["downtime"]["p99_us"].get<double>(), j["downtime"]["median_us"].get<double>());
  EXPECT_GT(j["floor_state_over_tcp_plus_rtt"]["median_us"].get<double>(), 0) << r.out;
  EXPECT_GT(j["state_bytes"].get<int>(), 65536) << r.out;
  EXPECT_GT(j["ratios"]["downtime_median_vs_floor"].get<double>(), 0) << r.out;
  // The phases add up to no more than the downtime they split.
  double phases_us = 0;
  for (const char* phase : {"capture", "transfer", "restore"}) {
    EXPECT_EQ(j["downtime_phases"][phase]["samples"], 6) << phase << ": " << r.out;
    phases_us += j["downtime_phases"][phase]["median_us"].get<double>();
  }
  EXPECT_GT(phases_us, 0) << r.out;
  EXPECT_GT(j["ratios"]["transfer_median_vs_floor"].get<double>(), 0) << r.out;
}

}  // namespace
}  // namespace ssivm

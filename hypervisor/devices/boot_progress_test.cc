#include "hypervisor/devices/boot_progress.h"

#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "guest/abi/pv_devices.h"

namespace ssivm {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

TEST(BootProgressTest, DecodesAndTimestamps) {
  const auto start = steady_clock::now() - milliseconds(5);
  std::vector<BootMilestone> seen;
  BootProgress dev(start, [&](const BootMilestone& m) { seen.push_back(m); });

  const int64_t before = NowNs();
  dev.Write(0, 4, abi::BootProgress(3, abi::kMilestoneCpuOnline));
  const int64_t after = NowNs();

  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].vcpu, 3u);
  EXPECT_EQ(seen[0].milestone, abi::kMilestoneCpuOnline);
  ASSERT_NE(seen[0].name, nullptr);
  EXPECT_STREQ(seen[0].name, "cpu-online");
  EXPECT_GE(seen[0].since_start, milliseconds(5));
  EXPECT_LT(seen[0].since_start, milliseconds(5) + std::chrono::seconds(10));
  EXPECT_GE(seen[0].monotonic_ns, before);
  EXPECT_LE(seen[0].monotonic_ns, after);
  EXPECT_EQ(dev.Read(0, 4), 0u);
}

TEST(BootProgressTest, UnknownMilestoneStillReported) {
  std::vector<BootMilestone> seen;
  BootProgress dev(steady_clock::now(), [&](const BootMilestone& m) { seen.push_back(m); });
  dev.Write(0, 4, abi::BootProgress(0, 0x1234));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].milestone, 0x1234);
  EXPECT_EQ(seen[0].name, nullptr);
  EXPECT_TRUE(dev.FirstSeen(0, 0x1234).has_value());
}

TEST(BootProgressTest, FirstSeenKeepsFirstReport) {
  BootProgress dev(steady_clock::now(), [](const BootMilestone&) {});
  EXPECT_FALSE(dev.FirstSeen(0, abi::kMilestoneEntry).has_value());

  dev.Write(0, 4, abi::BootProgress(0, abi::kMilestoneEntry));
  const auto first = dev.FirstSeen(0, abi::kMilestoneEntry);
  ASSERT_TRUE(first.has_value());
  std::this_thread::sleep_for(milliseconds(2));
  dev.Write(0, 4, abi::BootProgress(0, abi::kMilestoneEntry));
  EXPECT_EQ(dev.FirstSeen(0, abi::kMilestoneEntry), first);

  // Per (vcpu, milestone).
  EXPECT_FALSE(dev.FirstSeen(1, abi::kMilestoneEntry).has_value());
  EXPECT_FALSE(dev.FirstSeen(0, abi::kMilestoneReady).has_value());
  dev.Write(0, 4, abi::BootProgress(1, abi::kMilestoneEntry));
  const auto second = dev.FirstSeen(1, abi::kMilestoneEntry);
  ASSERT_TRUE(second.has_value());
  EXPECT_GT(*second, *first);
}

TEST(BootProgressTest, RecordingIsBoundedButReportingIsNot) {
  int reports = 0;
  BootProgress dev(steady_clock::now(), [&](const BootMilestone&) { ++reports; });
  const int n = static_cast<int>(BootProgress::kMaxRecorded) + 10;
  for (int vcpu = 0; vcpu < n; ++vcpu) dev.Write(0, 4, abi::BootProgress(vcpu, 1));
  EXPECT_EQ(reports, n);
  EXPECT_TRUE(dev.FirstSeen(0, 1).has_value());
  EXPECT_FALSE(dev.FirstSeen(n - 1, 1).has_value());
}

TEST(BootProgressTest, ConcurrentWriters) {
  std::atomic<int> reports{0};
  BootProgress dev(steady_clock::now(), [&](const BootMilestone&) { ++reports; });
  std::vector<std::thread> threads;
  for (uint32_t vcpu = 0; vcpu < 4; ++vcpu) {
    threads.emplace_back([&dev, vcpu] {
      for (uint16_t m = abi::kMilestoneEntry; m < abi::kMilestoneCount; ++m) {
        dev.Write(0, 4, abi::BootProgress(vcpu, m));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(reports.load(), 4 * (abi::kMilestoneCount - abi::kMilestoneEntry));
  for (uint32_t vcpu = 0; vcpu < 4; ++vcpu) {
    EXPECT_TRUE(dev.FirstSeen(vcpu, abi::kMilestoneReady).has_value());
  }
}

}  // namespace
}  // namespace ssivm

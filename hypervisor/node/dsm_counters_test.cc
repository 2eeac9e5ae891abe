#include "hypervisor/node/dsm_counters.h"

#include <gtest/gtest.h>

#include "guest/abi/pv_devices.h"

namespace ssivm {
namespace {

dsm::DsmStats Sample() {
  dsm::DsmStats s;
  s.read_faults = 1;
  s.write_faults = 2;
  s.pages_sent = 3;
  s.pages_received = 4;
  s.zero_fills = 5;
  s.invalidations = 6;
  s.messages_handled = 7;
  s.cached_pages = 8;
  s.evicted_clean = 9;
  s.written_back = 10;
  s.cache_limit_pages = 11;
  s.metadata_bytes = 1600;
  s.metadata_pages = 100;
  return s;
}

TEST(DsmCounters, EveryPvInfoKeyReadsItsCounter) {
  const dsm::DsmStats s = Sample();
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoReadFaults), 1u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoWriteFaults), 2u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoPagesSent), 3u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoPagesReceived), 4u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoZeroFills), 5u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoInvalidations), 6u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoMessages), 7u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoCachedPages), 8u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoEvictedClean), 9u);
  EXPECT_EQ(DsmCounterForInfoKey(s, abi::kInfoWrittenBack), 10u);
  EXPECT_FALSE(DsmCounterForInfoKey(s, abi::kInfoNodeId).has_value());
  EXPECT_FALSE(DsmCounterForInfoKey(s, abi::kInfoKeyCount).has_value());
}

TEST(DsmCounters, StatusJsonAndLogLineNameEveryCounter) {
  const nlohmann::json j = DsmCountersJson(Sample());
  EXPECT_EQ(j["read_faults"], 1);
  EXPECT_EQ(j["messages"], 7);
  EXPECT_EQ(j["zero_fills"], 5);
  EXPECT_TRUE(j.contains("fault_latency"));
  EXPECT_EQ(j["cached_pages"], 8);
  EXPECT_EQ(j["cache_limit_pages"], 11);
  EXPECT_EQ(j["metadata_bytes_per_page"], 16.0);
  EXPECT_EQ(DsmCountersLine(Sample()),
            "1 read faults, 2 write faults, 3 pages sent, 4 received, 5 zero-filled, 6 "
            "invalidated, 7 messages, 8 pages cached, 9 evicted clean, 10 written back");
}

}  // namespace
}  // namespace ssivm

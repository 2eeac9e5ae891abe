#include "hypervisor/kvm/kvm_stats.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

// One descriptor as KVM lays it out: 16-byte header, then the name padded
// to name_size bytes.
void AppendDescriptor(std::vector<uint8_t>& block, const std::string& name, uint32_t offset,
                      uint32_t name_size) {
  uint8_t header[16] = {};
  header[6] = 1;  // size: one value
  std::memcpy(header + 8, &offset, sizeof(offset));
  block.insert(block.end(), header, header + sizeof(header));
  std::vector<uint8_t> padded(name_size, 0);
  std::memcpy(padded.data(), name.data(), name.size());
  block.insert(block.end(), padded.begin(), padded.end());
}

TEST(KvmStats, FindsEachStatisticsDataOffsetByName) {
  std::vector<uint8_t> block;
  AppendDescriptor(block, "halt_poll_success_ns", 0, 48);
  AppendDescriptor(block, "halt_wait_ns", 24, 48);
  AppendDescriptor(block, "exits", 8, 48);
  const auto offsets = ParseKvmStatsDescriptors(block, 3, 48);
  EXPECT_EQ(offsets.size(), 3u);
  EXPECT_EQ(offsets.at("halt_wait_ns"), 24u);
  EXPECT_EQ(offsets.at("exits"), 8u);
  EXPECT_EQ(offsets.count("halt_wait"), 0u);  // whole names only
}

TEST(KvmStats, AShortDescriptorBlockIsAnError) {
  std::vector<uint8_t> block;
  AppendDescriptor(block, "halt_wait_ns", 0, 48);
  EXPECT_THROW(ParseKvmStatsDescriptors(block, 2, 48), Error);
}

TEST(KvmStats, ANameFillingItsWholeFieldNeedsNoNul) {
  std::vector<uint8_t> block;
  AppendDescriptor(block, "exits123", 0, 8);
  EXPECT_EQ(ParseKvmStatsDescriptors(block, 1, 8).count("exits123"), 1u);
}

}  // namespace
}  // namespace ssivm

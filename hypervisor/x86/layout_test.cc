#include "hypervisor/x86/layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

std::string ComputeError(uint64_t memory_mib, uint32_t vcpus) {
  try {
    GuestLayout::Compute(memory_mib, vcpus);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LayoutTest, SmallGuestIsOneRange) {
  const GuestLayout l = GuestLayout::Compute(64, 2);
  EXPECT_EQ(l.memory_bytes, 64 * kMiB);
  EXPECT_EQ(l.vcpus, 2u);
  ASSERT_EQ(l.ram.size(), 1u);
  EXPECT_EQ(l.ram[0].gpa, 0u);
  EXPECT_EQ(l.ram[0].size, 64 * kMiB);
  EXPECT_EQ(l.ram_end(), 64 * kMiB);
  EXPECT_EQ(l.identity_map_end(), abi::kMmioHoleEnd);
}

TEST(LayoutTest, Exactly3GiBStaysBelowTheHole) {
  const GuestLayout l = GuestLayout::Compute(3 << 10, 1);
  ASSERT_EQ(l.ram.size(), 1u);
  EXPECT_EQ(l.ram_end(), abi::kMmioHoleBase);
}

TEST(LayoutTest, LargeGuestSkipsTheMmioHole) {
  const GuestLayout l = GuestLayout::Compute(5 << 10, abi::kMaxVcpus);
  ASSERT_EQ(l.ram.size(), 2u);
  EXPECT_EQ(l.ram[0].gpa, 0u);
  EXPECT_EQ(l.ram[0].end(), 3 * kGiB);
  EXPECT_EQ(l.ram[1].gpa, 4 * kGiB);
  EXPECT_EQ(l.ram[1].size, 2 * kGiB);
  EXPECT_EQ(l.ram_end(), 6 * kGiB);
  EXPECT_EQ(l.identity_map_end(), 6 * kGiB);
  EXPECT_EQ(l.ram[0].size + l.ram[1].size, l.memory_bytes);
}

TEST(LayoutTest, AcceptsTheLimits) {
  EXPECT_EQ(GuestLayout::Compute(GuestLayout::kMinMemoryMiB, 1).ram_end(), 32 * kMiB);
  const GuestLayout l = GuestLayout::Compute(GuestLayout::kMaxMemoryMiB, 1);
  EXPECT_EQ(l.ram_end(), (500ull << 30) + kGiB);
}

TEST(LayoutTest, RejectsMemoryOutOfRange) {
  EXPECT_THAT(ComputeError(16, 1),
              HasSubstr("guest memory of 16 MiB is out of range: ssivm needs 32 to 512000 MiB"));
  EXPECT_THAT(ComputeError(0, 1), HasSubstr("out of range"));
  EXPECT_THAT(ComputeError(GuestLayout::kMaxMemoryMiB + 1, 1),
              HasSubstr("guest memory of 512001 MiB is out of range"));
}

TEST(LayoutTest, RejectsVcpuCountOutOfRange) {
  EXPECT_THAT(ComputeError(64, 0), HasSubstr("0 vCPUs is out of range: ssivm supports 1 to 176"));
  EXPECT_THAT(ComputeError(64, abi::kMaxVcpus + 1), HasSubstr("177 vCPUs is out of range"));
}

}  // namespace
}  // namespace ssivm

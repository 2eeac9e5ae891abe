// Shared guest RAM in two regions around the MMIO hole: one host mapping,
// two guest-physical ranges.
#include <gtest/gtest.h>

#include "common/error.h"
#include "dsm/fault/fault_engine.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

// Host addresses only; nothing is touched.
uint8_t* const kHost = reinterpret_cast<uint8_t*>(0x7f0000000000ull);

TEST(SharedRam, TranslatesPagesOnBothSidesOfTheHole) {
  const SharedRam ram({{16ull << 20, 3 * kGiB - (16ull << 20), kHost},
                       {4 * kGiB, kGiB, kHost + 3 * kGiB - (16ull << 20)}});
  EXPECT_EQ(ram.host_size(), 4 * kGiB - (16ull << 20));
  const auto host = reinterpret_cast<uint64_t>(kHost);
  EXPECT_EQ(*ram.HostAddress((16ull << 20) / abi::kPageSize), host);
  // The first page above the hole follows the last one below it in the host.
  EXPECT_EQ(*ram.HostAddress(4 * kGiB / abi::kPageSize), host + 3 * kGiB - (16ull << 20));
  EXPECT_EQ(*ram.PageAt(host + 3 * kGiB - (16ull << 20)), 4 * kGiB / abi::kPageSize);
  EXPECT_EQ(*ram.PageAt(host + 3 * kGiB - (16ull << 20) - 1),
            (3 * kGiB - abi::kPageSize) / abi::kPageSize);
  EXPECT_FALSE(ram.Contains(3 * kGiB / abi::kPageSize));  // in the hole
  EXPECT_FALSE(ram.Contains(5 * kGiB / abi::kPageSize));  // past the end
  EXPECT_FALSE(ram.Contains(0));                          // below shared RAM
  EXPECT_FALSE(ram.PageAt(host - 1).has_value());
  EXPECT_FALSE(ram.PageAt(host + 4 * kGiB).has_value());
}

TEST(SharedRam, APageNumberThatWouldWrapIsNotShared) {
  const SharedRam ram({{16ull << 20, kGiB, kHost}});
  const PageNumber first = (16ull << 20) / abi::kPageSize;
  EXPECT_TRUE(ram.Contains(first));
  // (2^52 + first) * 4096 wraps to first's address.
  EXPECT_FALSE(ram.Contains((PageNumber{1} << 52) + first));
  EXPECT_FALSE(ram.HostAddress(~PageNumber{0}).has_value());
}

TEST(SharedRam, RejectsRegionsThatAreNotOneHostRange) {
  EXPECT_THROW(SharedRam({}), Error);
  EXPECT_THROW(SharedRam({{0, 0, kHost}}), Error);
  EXPECT_THROW(SharedRam({{abi::kPageSize / 2, abi::kPageSize, kHost}}), Error);
  // Not adjacent in the host.
  EXPECT_THROW(SharedRam({{0, abi::kPageSize, kHost},
                          {4 * kGiB, abi::kPageSize, kHost + 2 * abi::kPageSize}}),
               Error);
  // Overlapping in the guest.
  EXPECT_THROW(SharedRam({{0, 2 * abi::kPageSize, kHost},
                          {abi::kPageSize, abi::kPageSize, kHost + 2 * abi::kPageSize}}),
               Error);
}

}  // namespace
}  // namespace ssivm::dsm

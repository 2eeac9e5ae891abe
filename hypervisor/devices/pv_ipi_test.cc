#include "hypervisor/devices/pv_ipi.h"

#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/pv_devices.h"

namespace ssivm {
namespace {

TEST(PvIpi, DeliversToTheNamedVcpu) {
  std::vector<std::pair<uint32_t, uint8_t>> got;
  PvIpi ipi(4, [&](uint32_t t, uint8_t v) { got.emplace_back(t, v); });
  ipi.Write(0, 4, abi::PvIpi(3, 0xf0));
  ipi.Write(0, 4, abi::PvIpi(0, 32));
  EXPECT_EQ(got, (std::vector<std::pair<uint32_t, uint8_t>>{{3, 0xf0}, {0, 32}}));
  EXPECT_EQ(ipi.delivered(), 2u);
  EXPECT_EQ(ipi.Read(0, 4), 0u);
}

TEST(PvIpi, RefusesGuestControlledGarbage) {
  int calls = 0;
  PvIpi ipi(2, [&](uint32_t, uint8_t) { ++calls; });
  ipi.Write(0, 4, abi::PvIpi(2, 0x40));         // no such vCPU
  ipi.Write(0, 4, abi::PvIpi(0xffffff, 0x40));  // far out of range
  ipi.Write(0, 4, abi::PvIpi(1, 14));           // an exception vector
  ipi.Write(0, 1, abi::PvIpi(1, 0x40));         // partial write
  ipi.Write(2, 4, abi::PvIpi(1, 0x40));         // wrong offset
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(ipi.refused(), 5u);
}

TEST(PvIpi, NeedsADeliveryFunction) {
  EXPECT_THROW(PvIpi(1, nullptr), Error);
}

}  // namespace
}  // namespace ssivm

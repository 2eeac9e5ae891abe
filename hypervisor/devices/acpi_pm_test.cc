#include "hypervisor/devices/acpi_pm.h"

#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

TEST(AcpiPm, ControlReadsShowAcpiMode) {
  AcpiPm pm([](uint8_t) {});
  EXPECT_EQ(pm.Read(4, 2) & 1, 1u);
  EXPECT_EQ(pm.Read(0, 2), 0u);  // no status bits
}

TEST(AcpiPm, SleepEnableReportsTheSleepType) {
  std::vector<uint8_t> types;
  AcpiPm pm([&](uint8_t t) { types.push_back(t); });
  pm.Write(4, 2, 5u << 10);  // SLP_TYP alone: nothing yet
  EXPECT_TRUE(types.empty());
  pm.Write(4, 2, (5u << 10) | (1u << 13));
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0], 5);
  EXPECT_EQ(pm.Read(4, 2) & (1u << 13), 0u);  // SLP_EN reads as 0
}

TEST(AcpiPm, ByteWriteOfTheHighControlByteWorksToo) {
  std::vector<uint8_t> types;
  AcpiPm pm([&](uint8_t t) { types.push_back(t); });
  pm.Write(5, 1, ((5u << 10) | (1u << 13)) >> 8);
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0], 5);
}

TEST(AcpiPm, EnableRegisterKeepsItsValue) {
  AcpiPm pm([](uint8_t) {});
  pm.Write(2, 2, 0x0120);
  EXPECT_EQ(pm.Read(2, 2), 0x0120u);
  EXPECT_EQ(pm.Read(3, 1), 0x01u);
}

TEST(ResetPort, BitTwoResets) {
  int resets = 0;
  ResetPort r([&] { ++resets; });
  r.Write(0, 1, 0x02);
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(r.Read(0, 1), 0x02u);
  r.Write(0, 1, 0x06);
  EXPECT_EQ(resets, 1);
}

TEST(AcpiPm, MissingCallbacksAreRefused) {
  EXPECT_THROW(AcpiPm(nullptr), Error);
  EXPECT_THROW(ResetPort(nullptr), Error);
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/devices/cmos_rtc.h"

#include <gtest/gtest.h>

namespace ssivm {
namespace {

// 2026-11-25 11:22:33 UTC, a Wednesday.
constexpr std::time_t kNow = 1795605753;

uint8_t ReadReg(CmosRtc& rtc, uint8_t index) {
  rtc.Write(0, 1, index);
  return static_cast<uint8_t>(rtc.Read(1, 1));
}

TEST(CmosRtc, TimeRegistersAreBcdOfTheClock) {
  CmosRtc rtc([] { return kNow; });
  EXPECT_EQ(ReadReg(rtc, 0x00), 0x33);
  EXPECT_EQ(ReadReg(rtc, 0x02), 0x22);
  EXPECT_EQ(ReadReg(rtc, 0x04), 0x11);
  EXPECT_EQ(ReadReg(rtc, 0x06), 0x04);  // Sunday = 1
  EXPECT_EQ(ReadReg(rtc, 0x07), 0x25);
  EXPECT_EQ(ReadReg(rtc, 0x08), 0x11);
  EXPECT_EQ(ReadReg(rtc, 0x09), 0x26);
  EXPECT_EQ(ReadReg(rtc, kCmosCenturyIndex), 0x20);
}

TEST(CmosRtc, StatusSaysValidAndNeverUpdating) {
  CmosRtc rtc([] { return kNow; });
  EXPECT_EQ(ReadReg(rtc, 0x0a) & 0x80, 0);
  EXPECT_EQ(ReadReg(rtc, 0x0b) & 0x06, 0x02);  // 24 h, BCD
  EXPECT_EQ(ReadReg(rtc, 0x0d), 0x80);
  rtc.Write(0, 1, 0x0a);
  rtc.Write(1, 1, 0xa6);  // the guest cannot set UIP
  EXPECT_EQ(ReadReg(rtc, 0x0a), 0x26);
  rtc.Write(0, 1, 0x0b);
  rtc.Write(1, 1, 0x04);  // nor switch to binary mode
  EXPECT_EQ(ReadReg(rtc, 0x0b) & 0x06, 0x02);
}

TEST(CmosRtc, NvramKeepsWritesAndTheNmiBitIsIgnored) {
  CmosRtc rtc([] { return kNow; });
  rtc.Write(0, 1, 0x80 | 0x40);
  rtc.Write(1, 1, 0x5a);
  EXPECT_EQ(ReadReg(rtc, 0x40), 0x5a);
  EXPECT_EQ(rtc.Read(0, 1), 0x40u);
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/devices/cmos_rtc.h"

#include <utility>

#include "common/error.h"

namespace ssivm {
namespace {

constexpr uint8_t kRegSeconds = 0x00, kRegMinutes = 0x02, kRegHours = 0x04, kRegWeekday = 0x06,
                  kRegDay = 0x07, kRegMonth = 0x08, kRegYear = 0x09, kRegA = 0x0a, kRegB = 0x0b,
                  kRegC = 0x0c, kRegD = 0x0d;
constexpr uint8_t kRegADivider = 0x26;  // 32.768 kHz time base, 1024 Hz rate; UIP (bit 7) clear
constexpr uint8_t kRegB24Hour = 0x02;   // 24-hour mode, BCD (bit 2 clear)
constexpr uint8_t kRegDValid = 0x80;    // valid RAM and time
constexpr uint8_t kNmiDisable = 0x80;   // bit 7 of the index write masks NMIs

uint8_t Bcd(int v) {
  return static_cast<uint8_t>(((v / 10) << 4) | (v % 10));
}

}  // namespace

CmosRtc::CmosRtc(Clock clock) : clock_(std::move(clock)) {
  if (!clock_) throw Error("CMOS RTC: no clock");
  nvram_[kRegA] = kRegADivider;
  nvram_[kRegB] = kRegB24Hour;
  nvram_[kRegD] = kRegDValid;
}

uint32_t CmosRtc::Read(uint16_t offset, uint8_t /*size*/) {
  std::lock_guard lock(mu_);
  if (offset == 0) return index_;
  return offset == 1 ? ReadRegister(index_) : 0xff;
}

void CmosRtc::Write(uint16_t offset, uint8_t /*size*/, uint32_t value) {
  std::lock_guard lock(mu_);
  if (offset == 0) {
    index_ = static_cast<uint8_t>(value & ~kNmiDisable & 0x7f);
    return;
  }
  if (offset != 1) return;
  switch (index_) {
    case kRegA:  // keep UIP clear
      nvram_[kRegA] = static_cast<uint8_t>(value & 0x7f);
      break;
    case kRegB:  // the time stays in 24-hour BCD; keep the guest's interrupt enables
      nvram_[kRegB] = static_cast<uint8_t>((value & 0x78) | kRegB24Hour);
      break;
    case kRegC:
    case kRegD:  // read-only
      break;
    default:
      if (index_ > kRegD) nvram_[index_] = static_cast<uint8_t>(value);  // time writes ignored
      break;
  }
}

uint8_t CmosRtc::ReadRegister(uint8_t index) {
  if (index <= kRegYear || index == kCmosCenturyIndex) {
    const std::time_t now = clock_();
    std::tm tm{};
    gmtime_r(&now, &tm);
    switch (index) {
      case kRegSeconds:
        return Bcd(tm.tm_sec);
      case kRegMinutes:
        return Bcd(tm.tm_min);
      case kRegHours:
        return Bcd(tm.tm_hour);
      case kRegWeekday:
        return Bcd(tm.tm_wday + 1);
      case kRegDay:
        return Bcd(tm.tm_mday);
      case kRegMonth:
        return Bcd(tm.tm_mon + 1);
      case kRegYear:
        return Bcd((tm.tm_year + 1900) % 100);
      case kCmosCenturyIndex:
        return Bcd((tm.tm_year + 1900) / 100);
      default:
        return 0;  // alarm registers
    }
  }
  if (index == kRegC) return 0;  // no interrupt flags pending
  return nvram_[index];
}

}  // namespace ssivm

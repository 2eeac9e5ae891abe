// The MC146818 CMOS real-time clock on ports 0x70 (index) and 0x71 (data).
// Linux reads the wall-clock time here at boot (without it, it polls the
// update-in-progress bit for seconds). Time registers come from a clock
// callback in 24-hour BCD mode; status registers say "valid, not updating";
// the rest is 128 bytes of NVRAM. No alarms, no periodic interrupt.
#ifndef SSIVM_HYPERVISOR_DEVICES_CMOS_RTC_H_
#define SSIVM_HYPERVISOR_DEVICES_CMOS_RTC_H_

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

inline constexpr uint16_t kCmosPort = 0x70;
inline constexpr uint16_t kCmosPortCount = 2;
inline constexpr uint8_t kCmosCenturyIndex = 0x32;

// Thread-safe (one mutex: the index register is shared state).
class CmosRtc : public PioDevice {
 public:
  using Clock = std::function<std::time_t()>;  // seconds since the epoch, UTC

  explicit CmosRtc(Clock clock = [] { return std::time(nullptr); });

  uint32_t Read(uint16_t offset, uint8_t size) override;
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

 private:
  uint8_t ReadRegister(uint8_t index);

  const Clock clock_;
  std::mutex mu_;
  uint8_t index_ = 0;
  std::array<uint8_t, 128> nvram_{};
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_CMOS_RTC_H_

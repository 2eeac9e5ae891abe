// ACPI fixed power-management hardware the FADT points at (hypervisor/x86/
// acpi.h): the PM1a event block (status, enable) and control block, and the
// reset register. A guest powers off by writing SLP_TYP (from the DSDT's \_S5)
// with SLP_EN to PM1a control; it reboots by writing the reset value to the
// reset register (port 0xcf9, the PIIX/ICH "reset control" register).
#ifndef SSIVM_HYPERVISOR_DEVICES_ACPI_PM_H_
#define SSIVM_HYPERVISOR_DEVICES_ACPI_PM_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

// Registered with 6 ports: +0 PM1 status (2 bytes), +2 PM1 enable (2),
// +4 PM1 control (2). Reads of control show SCI_EN (always in ACPI mode).
// A control write with SLP_EN calls on_sleep(SLP_TYP) on the writing vCPU's
// thread. Thread-safe if on_sleep is.
class AcpiPm : public PioDevice {
 public:
  static constexpr uint16_t kPort = 0x600;  // where ssivm puts it (the FADT says so)
  static constexpr uint16_t kPortCount = 6;
  using SleepCallback = std::function<void(uint8_t sleep_type)>;

  explicit AcpiPm(SleepCallback on_sleep);

  uint32_t Read(uint16_t offset, uint8_t size) override;
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

 private:
  const SleepCallback on_sleep_;
  std::atomic<uint16_t> enable_{0};
  std::atomic<uint16_t> control_{1};  // SCI_EN
};

// One port. A write with bit 2 (reset CPU) set calls on_reset(); other
// writes only store the value, which reads return.
class ResetPort : public PioDevice {
 public:
  static constexpr uint16_t kPort = 0xcf9;
  using ResetCallback = std::function<void()>;

  explicit ResetPort(ResetCallback on_reset);

  uint32_t Read(uint16_t offset, uint8_t size) override;
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

 private:
  const ResetCallback on_reset_;
  std::atomic<uint8_t> value_{0};
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_ACPI_PM_H_

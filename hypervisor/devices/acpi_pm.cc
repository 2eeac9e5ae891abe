#include "hypervisor/devices/acpi_pm.h"

#include <utility>

#include "common/error.h"

namespace ssivm {
namespace {

constexpr uint16_t kSciEn = 1u << 0;
constexpr uint16_t kSlpEn = 1u << 13;
constexpr int kSlpTypShift = 10;
constexpr uint16_t kSlpTypMask = 7;
constexpr uint8_t kResetCpu = 1u << 2;

// The 16-bit register at `reg` seen through an access at `offset` of `size`.
uint32_t Extract(uint16_t reg_value, uint16_t reg_offset, uint16_t offset, uint8_t size) {
  const uint32_t shift = 8 * (offset - reg_offset);
  const uint32_t v = static_cast<uint32_t>(reg_value) >> shift;
  return size >= 2 ? v : (v & 0xff);
}

}  // namespace

AcpiPm::AcpiPm(SleepCallback on_sleep) : on_sleep_(std::move(on_sleep)) {
  if (!on_sleep_) throw Error("ACPI PM device: no sleep callback");
}

uint32_t AcpiPm::Read(uint16_t offset, uint8_t size) {
  if (offset < 2) return 0;  // PM1 status: no events ever
  if (offset < 4) {
    const uint32_t v = Extract(enable_.load(), 2, offset, size);
    // A 4-byte read of the event block at +0 covers status and enable.
    return v;
  }
  if (offset < 6) return Extract(control_.load(), 4, offset, size);
  return 0xffffffff;
}

void AcpiPm::Write(uint16_t offset, uint8_t size, uint32_t value) {
  if (offset == 0 && size == 4) {  // status (write-1-to-clear: nothing) + enable
    enable_.store(static_cast<uint16_t>(value >> 16));
    return;
  }
  if (offset == 2 && size >= 2) {
    enable_.store(static_cast<uint16_t>(value));
    return;
  }
  if (offset == 4 && size >= 2) {
    const auto v = static_cast<uint16_t>(value);
    control_.store(static_cast<uint16_t>((v & ~kSlpEn) | kSciEn));
    if (v & kSlpEn) on_sleep_(static_cast<uint8_t>((v >> kSlpTypShift) & kSlpTypMask));
    return;
  }
  if (offset == 5 && size == 1) {  // high byte of control alone (holds SLP_TYP, SLP_EN)
    const auto v = static_cast<uint16_t>((control_.load() & 0xff) | (value << 8));
    control_.store(static_cast<uint16_t>((v & ~kSlpEn) | kSciEn));
    if (v & kSlpEn) on_sleep_(static_cast<uint8_t>((v >> kSlpTypShift) & kSlpTypMask));
  }
  // Status writes (write-1-to-clear) and other byte writes change nothing.
}

ResetPort::ResetPort(ResetCallback on_reset) : on_reset_(std::move(on_reset)) {
  if (!on_reset_) throw Error("reset port: no reset callback");
}

uint32_t ResetPort::Read(uint16_t /*offset*/, uint8_t /*size*/) {
  return value_.load();
}

void ResetPort::Write(uint16_t /*offset*/, uint8_t /*size*/, uint32_t value) {
  value_.store(static_cast<uint8_t>(value & ~kResetCpu));
  if (value & kResetCpu) on_reset_();
}

}  // namespace ssivm

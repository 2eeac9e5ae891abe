#include "guest/drivers/ioapic.h"

#include "guest/abi/boot_info.h"

namespace ssivm::guest::ioapic {
namespace {

constexpr uint32_t kRedirectionBase = 0x10;  // pin n: registers 0x10 + 2n (low), + 1 (high)

void Write(uint32_t reg, uint32_t value) {
  auto* mmio = reinterpret_cast<volatile uint32_t*>(abi::kIoApicGpa);
  mmio[0] = reg;    // IOREGSEL
  mmio[4] = value;  // IOWIN at +0x10
}

}  // namespace

void Route(uint32_t pin, uint8_t vector, uint32_t apic_id) {
  // High half (destination) first, so the entry is complete once unmasked.
  Write(kRedirectionBase + 2 * pin + 1, apic_id << 24);
  Write(kRedirectionBase + 2 * pin, vector);
}

}  // namespace ssivm::guest::ioapic

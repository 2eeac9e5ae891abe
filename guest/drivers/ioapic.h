// The I/O APIC (KVM's in-kernel one, MMIO at abi::kIoApicGpa, mapped UC by the
// VMM's page tables). ISA IRQ n arrives on pin n.
#ifndef SSIVM_GUEST_DRIVERS_IOAPIC_H_
#define SSIVM_GUEST_DRIVERS_IOAPIC_H_

#include <stdint.h>

namespace ssivm::guest::ioapic {

// Routes `pin` (edge, active high, fixed delivery) to `vector` on the CPU
// with x2APIC id `apic_id`, unmasked.
void Route(uint32_t pin, uint8_t vector, uint32_t apic_id);

}  // namespace ssivm::guest::ioapic

#endif  // SSIVM_GUEST_DRIVERS_IOAPIC_H_

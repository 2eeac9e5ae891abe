// The IDT the VMM loaded (IDTR = {kIdtGpa, 0xfff}); one table for all vCPUs of
// the node, filled by the guest.
#ifndef SSIVM_GUEST_ARCH_IDT_H_
#define SSIVM_GUEST_ARCH_IDT_H_

#include <stdint.h>

namespace ssivm::guest::arch::idt {

inline constexpr uint8_t kVectorInvalidOpcode = 6;
inline constexpr uint8_t kVectorDoubleFault = 8;
inline constexpr uint8_t kVectorGeneralProtection = 13;

// A present 64-bit interrupt gate, DPL 0, kernel code selector; ist 0 = none.
void SetInterruptGate(uint8_t vector, void (*handler)(), uint8_t ist);
// Back to an empty (all-zero, not present) gate.
void ClearGate(uint8_t vector);

}  // namespace ssivm::guest::arch::idt

#endif  // SSIVM_GUEST_ARCH_IDT_H_

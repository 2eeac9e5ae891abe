// The IDT the VMM loaded (IDTR = {kIdtGpa, 0xfff}); one table for all vCPUs of
// the node, filled by the guest.
#ifndef SSIVM_GUEST_ARCH_IDT_H_
#define SSIVM_GUEST_ARCH_IDT_H_

#include <stdint.h>

namespace ssivm::guest::arch::idt {

inline constexpr uint8_t kVectorInvalidOpcode = 6;
inline constexpr uint8_t kVectorDoubleFault = 8;
inline constexpr uint8_t kVectorGeneralProtection = 13;
inline constexpr uint8_t kIstExceptions = 1;  // IST1: #DF, NMI, #MC and every other exception
inline constexpr uint8_t kIstInterrupts = 2;  // IST2: device interrupts, IPIs, INT n

// Points every vector at its entry stub (entry.S): exceptions on IST1,
// interrupts and `soft_vector` (reachable by INT n, DPL 3) on IST2. The stubs call
// arch_interrupt(Frame*) (frame.h).
void InstallAll(uint8_t soft_vector);

// A present 64-bit interrupt gate, kernel code selector; ist 0 = none. DPL 3
// lets INT n reach it (on PVM the kernel runs at hardware CPL3).
void SetInterruptGate(uint8_t vector, void (*handler)(), uint8_t ist, uint8_t dpl = 0);
// Back to an empty (all-zero, not present) gate.
void ClearGate(uint8_t vector);

}  // namespace ssivm::guest::arch::idt

#endif  // SSIVM_GUEST_ARCH_IDT_H_

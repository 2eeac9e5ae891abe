// The local APIC in x2APIC mode (MSR access; KVM's in-kernel LAPIC). On PVM
// every access is a trapped RDMSR or a WRMSR hypercall, so the hot path (EOI)
// is a single write.
#ifndef SSIVM_GUEST_DRIVERS_LAPIC_H_
#define SSIVM_GUEST_DRIVERS_LAPIC_H_

#include <stdint.h>

namespace ssivm::guest::lapic {

// Switches this CPU's LAPIC to x2APIC mode, software-enabled with
// `spurious_vector`, LINT0/LINT1 masked (no PIC).
void Init(uint8_t spurious_vector);
// Periodic timer every `period_ns` (KVM's APIC bus runs at 1 GHz; divide 1).
void StartPeriodicTimer(uint8_t vector, uint32_t period_ns);
// One-shot, masked countdown of `ns`; then TimerCount() reads what is left.
void StartMaskedCountdown(uint32_t ns);
uint32_t TimerCount();
void StopTimer();
void Eoi();
uint32_t Id();

}  // namespace ssivm::guest::lapic

#endif  // SSIVM_GUEST_DRIVERS_LAPIC_H_

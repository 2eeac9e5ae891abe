// Interrupt set-up and dispatch (arch_interrupt).
#ifndef SSIVM_GUEST_KERNEL_INTERRUPTS_H_
#define SSIVM_GUEST_KERNEL_INTERRUPTS_H_

#include <stdint.h>

namespace ssivm::guest::interrupts {

// Boot CPU: fills the shared IDT (every exception now panics with a report).
void InstallIdt();
// Each CPU: its LAPIC (x2APIC), and the tick. Interrupts stay disabled.
void InitCpu();
// Boot CPU: routes COM1's IRQ to itself.
void RouteConsole(uint32_t apic_id);

}  // namespace ssivm::guest::interrupts

#endif  // SSIVM_GUEST_KERNEL_INTERRUPTS_H_

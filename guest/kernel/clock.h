// Time: the TSC (invariant; on PVM the guest reads the host's TSC) for
// measuring, the LAPIC timer for the scheduler tick.
#ifndef SSIVM_GUEST_KERNEL_CLOCK_H_
#define SSIVM_GUEST_KERNEL_CLOCK_H_

#include <stdint.h>

namespace ssivm::guest::clock {

inline constexpr uint32_t kTickNs = 10'000'000;  // 100 Hz

// Boot CPU: finds the TSC frequency (CPUID 0x40000010 / 0x15 / 0x16, else
// measured against the LAPIC timer, whose bus clock is 1 GHz under KVM).
void Init();
// Every CPU, interrupts still off: starts the periodic tick.
void StartTick();

uint64_t TscHz();
uint64_t Nanoseconds();  // since Init
uint64_t TscToNs(uint64_t cycles);

}  // namespace ssivm::guest::clock

#endif  // SSIVM_GUEST_KERNEL_CLOCK_H_

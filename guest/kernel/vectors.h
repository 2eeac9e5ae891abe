// Interrupt vector assignment (exceptions are 0-31).
#ifndef SSIVM_GUEST_KERNEL_VECTORS_H_
#define SSIVM_GUEST_KERNEL_VECTORS_H_

#include <stdint.h>

#include "guest/arch/arch.h"

namespace ssivm::guest::vec {

inline constexpr uint8_t kTimer = 0x20;  // LAPIC timer, every CPU
inline constexpr uint8_t kCom1 = 0x24;   // IOAPIC pin 4, boot CPU
// A thread's request to switch now (yield, block, exit): arch::SoftTrap().
inline constexpr uint8_t kSchedule = arch::kSoftTrapVector;
inline constexpr uint8_t kReschedIpi = 0xf0;
inline constexpr uint8_t kSpurious = 0xff;

}  // namespace ssivm::guest::vec

#endif  // SSIVM_GUEST_KERNEL_VECTORS_H_

// Stopping the VM through the VMM's debug-exit device.
#ifndef SSIVM_GUEST_KERNEL_POWER_H_
#define SSIVM_GUEST_KERNEL_POWER_H_

#include <stdint.h>

namespace ssivm::guest {

// Stops the whole VM; the VMM exits with (status & 0xff).
[[noreturn]] void PowerOff(uint32_t status);

// Prints "ssivm: panic: <message>" and powers off with abi::kExitPanic.
[[noreturn]] void Panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_POWER_H_

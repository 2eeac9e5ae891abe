// The report for an unexpected exception, then power-off with kExitPanic.
#ifndef SSIVM_GUEST_KERNEL_PANIC_H_
#define SSIVM_GUEST_KERNEL_PANIC_H_

#include "guest/arch/frame.h"

namespace ssivm::guest {

[[noreturn]] void ExceptionPanic(const arch::Frame& frame);

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_PANIC_H_

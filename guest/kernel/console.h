// The kernel console: COM1, shared by all vCPUs. A whole Printf call is one
// critical section, so lines from different vCPUs never interleave.
#ifndef SSIVM_GUEST_KERNEL_CONSOLE_H_
#define SSIVM_GUEST_KERNEL_CONSOLE_H_

#include <stdarg.h>

namespace ssivm::guest::console {

// Boot vCPU, before anything prints.
void Init();

void Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void VPrintf(const char* fmt, va_list args);

// Reads one line (ended by CR or LF, not stored) into buf, NUL-terminated,
// echoing nothing; returns its length. Longer lines are cut at size - 1.
unsigned ReadLine(char* buf, unsigned size);

}  // namespace ssivm::guest::console

#endif  // SSIVM_GUEST_KERNEL_CONSOLE_H_

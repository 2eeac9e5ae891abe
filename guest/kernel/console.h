// The kernel console: COM1, shared by all vCPUs. A whole Printf call is one
// critical section, so lines from different vCPUs never interleave. Output
// is polled; input comes through the receive interrupt into a buffer that
// threads sleep on.
#ifndef SSIVM_GUEST_KERNEL_CONSOLE_H_
#define SSIVM_GUEST_KERNEL_CONSOLE_H_

#include <stdarg.h>

namespace ssivm::guest::console {

// Boot vCPU, before anything prints.
void Init();
// Boot vCPU, once interrupts are routed: input by interrupt from now on.
void EnableInput();
// Panic path: stop taking the output lock (its holder may be this CPU).
void BeginPanic();
// The COM1 interrupt handler.
void OnInterrupt();

void Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void VPrintf(const char* fmt, va_list args);

enum class Echo { kOff, kOn };

// Reads one line with editing (backspace/DEL, Ctrl-U; ended by CR or LF,
// not stored) into buf, NUL-terminated, echoing it if asked; returns its
// length. Longer lines are cut at size - 1. Threads only.
unsigned ReadLine(char* buf, unsigned size, Echo echo = Echo::kOff);

}  // namespace ssivm::guest::console

#endif  // SSIVM_GUEST_KERNEL_CONSOLE_H_

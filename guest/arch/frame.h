// The register frame every interrupt and exception entry builds on its IST
// stack (entry.S), lowest address first. The scheduler switches threads by
// saving and replacing a whole Frame, so a thread's saved context is a Frame.
#ifndef SSIVM_GUEST_ARCH_FRAME_H_
#define SSIVM_GUEST_ARCH_FRAME_H_

#include <stddef.h>
#include <stdint.h>

namespace ssivm::guest::arch {

struct Frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector;
  uint64_t error;  // 0 for vectors without an error code
  // Pushed by the CPU (or PVM, which pushes the same frame).
  uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(Frame) == 22 * 8);
static_assert(offsetof(Frame, vector) == 15 * 8);

inline constexpr uint64_t kRflagsIf = 1u << 9;
inline constexpr uint64_t kRflagsReserved = 1u << 1;

}  // namespace ssivm::guest::arch

// Every vector lands here, on an IST stack, with interrupts disabled. The
// handler may rewrite *frame (the scheduler does) to resume something else.
extern "C" void arch_interrupt(ssivm::guest::arch::Frame* frame);

#endif  // SSIVM_GUEST_ARCH_FRAME_H_

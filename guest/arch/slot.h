// This vCPU's slot in the node-private region (boot_info.h): vIF cell, TSS,
// per-CPU data, IST and boot stacks.
#ifndef SSIVM_GUEST_ARCH_SLOT_H_
#define SSIVM_GUEST_ARCH_SLOT_H_

#include <stdint.h>

#include "guest/abi/boot_info.h"

namespace ssivm::guest::arch {

// Every stack a vCPU runs on today (boot stack, IST stacks) lies inside its
// own slot, and slots are slot-size aligned, so the stack pointer names the
// slot without a per-CPU register. Kernel threads with their own stacks will
// need a per-CPU base register (GS) instead; only this function changes then.
inline uint64_t CurrentSlotBase() {
  static_assert((abi::kVcpuSlotsGpa & (abi::kVcpuSlotSize - 1)) == 0);
  static_assert((abi::kVcpuSlotSize & (abi::kVcpuSlotSize - 1)) == 0);
  uint64_t rsp;
  asm volatile("mov %%rsp, %0" : "=r"(rsp));
  // rsp - 1: an empty stack's pointer is the next slot's base.
  return (rsp - 1) & ~(abi::kVcpuSlotSize - 1);
}

}  // namespace ssivm::guest::arch

#endif  // SSIVM_GUEST_ARCH_SLOT_H_

// This vCPU's slot in the node-private region (boot_info.h): vIF cell, TSS,
// per-CPU data, IST and boot stacks.
#ifndef SSIVM_GUEST_ARCH_SLOT_H_
#define SSIVM_GUEST_ARCH_SLOT_H_

#include <stdint.h>

#include "guest/abi/boot_info.h"

namespace ssivm::guest::arch {

// Before InitCpu(): the boot and IST stacks lie inside the vCPU's own slot,
// and slots are slot-size aligned, so the stack pointer names the slot.
inline uint64_t BootSlotBase() {
  static_assert((abi::kVcpuSlotsGpa & (abi::kVcpuSlotSize - 1)) == 0);
  static_assert((abi::kVcpuSlotSize & (abi::kVcpuSlotSize - 1)) == 0);
  uint64_t rsp;
  asm volatile("mov %%rsp, %0" : "=r"(rsp));
  // rsp - 1: an empty stack's pointer is the next slot's base.
  return (rsp - 1) & ~(abi::kVcpuSlotSize - 1);
}

// After InitCpu(): threads run on their own stacks, so GS names the slot. One
// GS-relative load, so a thread migrated right after it still gets a
// consistent (if stale) answer.
inline uint64_t CurrentSlotBase() {
  uint64_t base;
  asm volatile("mov %%gs:%c1, %0" : "=r"(base) : "i"(abi::kSlotPerCpu));
  return base;
}

}  // namespace ssivm::guest::arch

#endif  // SSIVM_GUEST_ARCH_SLOT_H_

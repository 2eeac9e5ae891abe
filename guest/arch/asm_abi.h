// ABI constants for assembly files, which cannot include the C++ ABI headers.
// Included from C++ it checks them against guest/abi, so the two cannot drift.
#ifndef SSIVM_GUEST_ARCH_ASM_ABI_H_
#define SSIVM_GUEST_ARCH_ASM_ABI_H_

#define SSIVM_PORT_DEBUG_EXIT 0x500
#define SSIVM_PORT_BOOT_PROGRESS 0x504
#define SSIVM_MILESTONE_ENTRY 1
#define SSIVM_EXIT_PANIC 3

#ifndef __ASSEMBLER__
#include "guest/abi/pv_devices.h"

static_assert(SSIVM_PORT_DEBUG_EXIT == ssivm::abi::kDebugExitPort);
static_assert(SSIVM_PORT_BOOT_PROGRESS == ssivm::abi::kBootProgressPort);
static_assert(SSIVM_MILESTONE_ENTRY == ssivm::abi::kMilestoneEntry);
static_assert(SSIVM_EXIT_PANIC == ssivm::abi::kExitPanic);
#endif

#endif  // SSIVM_GUEST_ARCH_ASM_ABI_H_

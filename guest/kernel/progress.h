// Boot milestones for the VMM's boot-progress port (pv_devices.h).
#ifndef SSIVM_GUEST_KERNEL_PROGRESS_H_
#define SSIVM_GUEST_KERNEL_PROGRESS_H_

#include <stdint.h>

#include "guest/abi/pv_devices.h"
#include "guest/arch/arch.h"

namespace ssivm::guest {

inline void ReportProgress(uint32_t vcpu, abi::Milestone milestone) {
  arch::Outl(abi::kBootProgressPort, abi::BootProgress(vcpu, milestone));
}

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_PROGRESS_H_

// What the VMM tells the kernel at boot (guest/abi/boot_info.h), validated.
#ifndef SSIVM_GUEST_KERNEL_BOOT_INFO_H_
#define SSIVM_GUEST_KERNEL_BOOT_INFO_H_

#include <stddef.h>
#include <stdint.h>

#include "guest/abi/boot_info.h"

namespace ssivm::guest {

struct BootInfo {
  const abi::BootParams* params;
  const abi::SsivmInfo* ssivm;  // in the boot region: read-only, stays mapped
  const char* cmdline;          // never null; ends at NUL or cmdline_max bytes
  size_t cmdline_max;
  uint32_t vcpu_count;
  uint64_t ram_bytes;  // sum of the ssivm memory ranges
};

// Returns nullptr and fills `info`, or returns what is wrong with the input.
// `detail` receives an offending value where there is one.
const char* ParseBootInfo(const abi::BootParams* params, BootInfo* info, uint64_t* detail);

// What the boot vCPU parsed (valid once the APs run).
const BootInfo& Boot();

// The node that runs `cpu` now: the VMM's vCPU -> node table, which a
// migration changes under the running guest (so it is read each time).
uint32_t NodeOfCpu(uint32_t cpu);

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_BOOT_INFO_H_

// The memory map pieces of the boot information: the e820 table a Linux-style
// kernel reads, the ssivm memory ranges, and where the initrd goes.
#ifndef SSIVM_HYPERVISOR_X86_BOOT_PARAMS_H_
#define SSIVM_HYPERVISOR_X86_BOOT_PARAMS_H_

#include <cstdint>
#include <vector>

#include "guest/abi/boot_info.h"
#include "hypervisor/x86/layout.h"

namespace ssivm {

// RAM [0, kLowRamEnd), reserved [kLowRamEnd, 1 MiB), reserved node-private
// region, RAM [kKernelBase, end of low RAM), RAM above 4 GiB (if any). Sorted.
std::vector<abi::E820Entry> BuildE820(const GuestLayout& layout);

// The highest page-aligned start such that [start, start + size) is inside
// one RAM range, start >= max(lowest, abi::kKernelBase) and
// start + size <= highest_end. Throws Error naming the sizes if none exists.
uint64_t PlaceInitrd(const GuestLayout& layout, uint64_t size, uint64_t lowest,
                     uint64_t highest_end);

// The SsivmInfo ranges: boot region, node-private region, the kernel
// [kernel_base, kernel_end rounded up to 2 MiB, clipped to its RAM range),
// the initrd's pages (if initrd_size > 0; the guest's page allocator must not
// hand them out), then every other piece of RAM as shared, homed at node 0.
// Together they cover all RAM exactly once. Throws Error if the kernel is not
// in RAM at or above abi::kKernelBase, or the initrd not in RAM above it.
std::vector<abi::MemRange> BuildMemRanges(const GuestLayout& layout, uint64_t kernel_base,
                                          uint64_t kernel_end, uint64_t initrd_base = 0,
                                          uint64_t initrd_size = 0);

// `ranges` (BuildMemRanges's) with every shared range split where `homes`
// (base, size and home_node; kind ignored) says which node is home of what:
// a cluster's map. Other ranges stay as they are, first. Throws Error if
// shared RAM reaches past the homes.
std::vector<abi::MemRange> SplitSharedByHome(const std::vector<abi::MemRange>& ranges,
                                             const std::vector<abi::MemRange>& homes);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_BOOT_PARAMS_H_

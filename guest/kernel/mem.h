// Physical memory: a page allocator over the shared RAM ranges of the boot
// info, one pool per home node, and a small kernel heap on top. Memory is
// identity mapped, so a physical address is also the pointer.
#ifndef SSIVM_GUEST_KERNEL_MEM_H_
#define SSIVM_GUEST_KERNEL_MEM_H_

#include <stddef.h>
#include <stdint.h>

#include "guest/abi/boot_info.h"

namespace ssivm::guest::mem {

inline constexpr uint32_t kMaxNodes = 16;
inline constexpr uint32_t kLocalNode = ~0u;  // the calling CPU's node

// Boot CPU, before threads: adds every kRangeShared range to its node's pool.
void Init(const abi::SsivmInfo& info);

// `pages` contiguous pages, from `node` first (kLocalNode: the caller's),
// then from the other nodes; nullptr if none has room.
void* AllocPages(size_t pages, uint32_t node);
void FreePages(void* p, size_t pages);

// Kernel heap: 16-byte aligned; nullptr when out of memory.
void* Alloc(size_t bytes);
void Free(void* p);

struct NodeStats {
  uint64_t total_pages;
  uint64_t free_pages;
};
uint32_t NodeCount();
NodeStats Stats(uint32_t node);
// The home node of the page at `addr` (0 if it is not pool memory).
uint32_t NodeOf(uint64_t addr);

}  // namespace ssivm::guest::mem

#endif  // SSIVM_GUEST_KERNEL_MEM_H_

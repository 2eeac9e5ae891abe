// The identity page tables every vCPU starts with (VA == GPA), built by the VMM
// in the node-private region.
#ifndef SSIVM_HYPERVISOR_X86_PAGE_TABLES_H_
#define SSIVM_HYPERVISOR_X86_PAGE_TABLES_H_

#include <cstdint>

#include "hypervisor/memory/guest_memory.h"

namespace ssivm {

inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWrite = 1ull << 1;
inline constexpr uint64_t kPteUser = 1ull << 2;
inline constexpr uint64_t kPteWriteThrough = 1ull << 3;
inline constexpr uint64_t kPteCacheDisable = 1ull << 4;
inline constexpr uint64_t kPteLarge = 1ull << 7;

struct PageTableOptions {
  uint64_t tables_gpa;     // where PML4, PDPT and the PDs go (page aligned)
  uint64_t tables_max;     // bytes available there
  uint64_t map_end;        // identity-map [0, map_end), rounded up to 1 GiB
  uint64_t uncached_base;  // [uncached_base, uncached_end) mapped UC (MMIO)
  uint64_t uncached_end;
  // PVM runs the guest kernel at hardware CPL3: every present entry needs
  // U/S=1 there (PLATFORM.md), while hardware KVM wants supervisor pages.
  bool user_accessible;
};

// Writes the tables and returns the CR3 value (the PML4's GPA). Throws Error if
// they do not fit in tables_max or the range needs PML4 slot 256 or above.
uint64_t BuildIdentityPageTables(const GuestMemory& mem, const PageTableOptions& opt);

// Translates a virtual address through tables in guest memory (4 levels,
// large pages honoured); returns false if not mapped. For tests and debugging.
bool TranslateVirtual(const GuestMemory& mem, uint64_t cr3, uint64_t va, uint64_t* pa,
                      uint64_t* flags);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_PAGE_TABLES_H_

#include "hypervisor/x86/page_tables.h"

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/page.h"

namespace ssivm {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t k2MiB = 2ull << 20;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;

}  // namespace

uint64_t BuildIdentityPageTables(const GuestMemory& mem, const PageTableOptions& opt) {
  const uint64_t gibs = (opt.map_end + kGiB - 1) / kGiB;
  if (gibs > 512) {
    throw Error(
        fmt::format("identity map of {:#x} bytes needs more than one PML4 slot", opt.map_end));
  }
  const uint64_t needed = (2 + gibs) * abi::kPageSize;
  if (needed > opt.tables_max) {
    throw Error(fmt::format("page tables for {} GiB need {} KiB, only {} KiB reserved", gibs,
                            needed >> 10, opt.tables_max >> 10));
  }
  const uint64_t pml4 = opt.tables_gpa;
  const uint64_t pdpt = pml4 + abi::kPageSize;
  const uint64_t pds = pdpt + abi::kPageSize;
  mem.Fill(pml4, needed, 0);
  const uint64_t dir = kPtePresent | kPteWrite | (opt.user_accessible ? kPteUser : 0);
  mem.WriteObject<uint64_t>(pml4, pdpt | dir);
  for (uint64_t g = 0; g < gibs; ++g) {
    const uint64_t pd = pds + g * abi::kPageSize;
    mem.WriteObject<uint64_t>(pdpt + g * 8, pd | dir);
    for (uint64_t i = 0; i < 512; ++i) {
      const uint64_t pa = g * kGiB + i * k2MiB;
      uint64_t e = pa | dir | kPteLarge;
      if (pa >= opt.uncached_base && pa < opt.uncached_end)
        e |= kPteCacheDisable | kPteWriteThrough;
      mem.WriteObject<uint64_t>(pd + i * 8, e);
    }
  }
  return pml4;
}

bool TranslateVirtual(const GuestMemory& mem, uint64_t cr3, uint64_t va, uint64_t* pa,
                      uint64_t* flags) {
  uint64_t table = cr3 & kAddrMask;
  uint64_t accumulated = kPtePresent | kPteWrite | kPteUser;
  for (int level = 3; level >= 0; --level) {
    const uint64_t index = (va >> (12 + 9 * level)) & 511;
    const auto e = mem.ReadObject<uint64_t>(table + index * 8);
    if (!(e & kPtePresent)) return false;
    accumulated &= e | ~(kPteWrite | kPteUser);
    const bool leaf = level == 0 || ((level == 1 || level == 2) && (e & kPteLarge));
    if (leaf) {
      const uint64_t page = 1ull << (12 + 9 * level);
      *pa = (e & kAddrMask & ~(page - 1)) | (va & (page - 1));
      *flags = (e & ~kAddrMask & ~(kPteWrite | kPteUser)) | (accumulated & (kPteWrite | kPteUser));
      return true;
    }
    table = e & kAddrMask;
  }
  return false;
}

}  // namespace ssivm

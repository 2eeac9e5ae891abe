// Guest-physical layout of one guest: where RAM is, given its size. The fixed
// regions (boot, node-private, kernel base) are in guest/abi/boot_info.h.
#ifndef SSIVM_HYPERVISOR_X86_LAYOUT_H_
#define SSIVM_HYPERVISOR_X86_LAYOUT_H_

#include <cstdint>
#include <vector>

namespace ssivm {

struct RamRange {
  uint64_t gpa;
  uint64_t size;
  uint64_t end() const { return gpa + size; }
};

struct GuestLayout {
  static constexpr uint64_t kMinMemoryMiB = 32;
  // Limited by the VMM-built page tables (one PD page per GiB).
  static constexpr uint64_t kMaxMemoryMiB = 500ull << 10;

  // Throws Error if the size or vCPU count is out of range.
  static GuestLayout Compute(uint64_t memory_mib, uint32_t vcpus);

  uint64_t memory_bytes = 0;
  uint32_t vcpus = 0;
  // RAM below the 3 GiB MMIO hole, then (for large guests) above 4 GiB.
  std::vector<RamRange> ram;

  uint64_t ram_end() const { return ram.back().end(); }
  // Highest address the identity page tables map: all RAM and the MMIO hole.
  uint64_t identity_map_end() const;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_LAYOUT_H_

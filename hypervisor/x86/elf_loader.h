// Parsing and loading of 64-bit x86 ELF kernels (ET_EXEC, loaded by physical
// address). The file comes from users: everything is validated before use.
#ifndef SSIVM_HYPERVISOR_X86_ELF_LOADER_H_
#define SSIVM_HYPERVISOR_X86_ELF_LOADER_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "hypervisor/memory/guest_memory.h"

namespace ssivm {

// One PT_LOAD program header: file bytes [file_offset, +file_size) go to guest
// physical [gpa, +file_size); [gpa + file_size, gpa + mem_size) is zeroed.
struct ElfSegment {
  uint64_t gpa, file_offset, file_size, mem_size;
  bool executable, writable;
};

struct ElfImage {
  uint64_t entry;                    // a guest-physical address (vCPUs start identity-mapped)
  std::vector<ElfSegment> segments;  // in program header order; sizes > 0
  uint64_t lowest_gpa, end_gpa;      // [lowest_gpa, end_gpa) covers every segment
};

// True if the file starts with the ELF magic (it may still be invalid).
bool LooksLikeElf(std::span<const uint8_t> file);

// Validates an x86-64 ET_EXEC ELF file and describes its loadable segments.
// Segments load at p_paddr; the entry point must lie inside an executable
// segment. Throws Error("<name>: ...") naming the problem.
ElfImage ParseElf64(std::span<const uint8_t> file, std::string_view name);

// Copies the segments of `image` (parsed from `file`) into guest memory and
// zero-fills their bss. Each segment must lie at or above abi::kKernelBase,
// inside one RAM region. Throws Error naming the segment otherwise.
void LoadElf(const ElfImage& image, std::span<const uint8_t> file, const GuestMemory& mem,
             std::string_view name);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_ELF_LOADER_H_

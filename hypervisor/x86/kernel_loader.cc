#include "hypervisor/x86/kernel_loader.h"

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/x86/bzimage.h"
#include "hypervisor/x86/elf_loader.h"

namespace ssivm {
namespace {

void CheckInLayout(const LoadedKernel& k, const GuestLayout& layout, std::string_view name) {
  for (const RamRange& r : layout.ram) {
    if (k.kernel_base >= r.gpa && k.kernel_end <= r.end() && k.kernel_base < k.kernel_end) return;
  }
  throw Error(fmt::format("{}: kernel [{:#x}, {:#x}) is not inside one guest RAM range", name,
                          k.kernel_base, k.kernel_end));
}

}  // namespace

LoadedKernel LoadKernel(std::span<const uint8_t> image, std::string_view name,
                        const GuestMemory& mem, const GuestLayout& layout) {
  LoadedKernel k;
  if (LooksLikeElf(image)) {
    const ElfImage elf = ParseElf64(image, name);
    k = {.format = LoadedKernel::Format::kElf,
         .entry = elf.entry,
         .kernel_base = elf.lowest_gpa,
         .kernel_end = elf.end_gpa,
         .setup_header = std::nullopt,
         .read_only = {}};
    for (const ElfSegment& seg : elf.segments) {
      // Only whole pages: a page shared with a writable segment is not read-only.
      const uint64_t first = (seg.gpa + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
      const uint64_t end = (seg.gpa + seg.mem_size) & ~(abi::kPageSize - 1);
      if (!seg.writable && end > first) k.read_only.push_back({first, end - first});
    }
    LoadElf(elf, image, mem, name);
    CheckInLayout(k, layout, name);
  } else if (LooksLikeBzImage(image)) {
    const BzImage bz = ParseBzImage(image, name);
    k = {.format = LoadedKernel::Format::kBzImage,
         .entry = bz.entry64,
         .kernel_base = bz.load_gpa,
         .kernel_end = bz.load_gpa + bz.footprint,
         .setup_header = bz.hdr,
         .read_only = {}};
    LoadBzImage(bz, mem, name);
    CheckInLayout(k, layout, name);
  } else {
    throw Error(fmt::format("{}: not an ELF64 kernel nor a Linux bzImage", name));
  }
  return k;
}

}  // namespace ssivm

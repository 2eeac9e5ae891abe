#include "hypervisor/x86/boot_params.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

uint64_t AlignDown(uint64_t value, uint64_t align) {
  return value & ~(align - 1);
}

std::string MiBText(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", double(bytes) / kMiB);
}

const RamRange* FindRam(const GuestLayout& layout, uint64_t gpa) {
  for (const RamRange& r : layout.ram) {
    if (gpa >= r.gpa && gpa < r.end()) return &r;
  }
  return nullptr;
}

}  // namespace

std::vector<abi::E820Entry> BuildE820(const GuestLayout& layout) {
  const uint64_t low_end = layout.ram.front().end();
  std::vector<abi::E820Entry> e820 = {
      {.addr = 0, .size = abi::kLowRamEnd, .type = abi::kE820Ram},
      {.addr = abi::kLowRamEnd,
       .size = abi::kBootRegionSize - abi::kLowRamEnd,
       .type = abi::kE820Reserved},
      {.addr = abi::kPrivateBase, .size = abi::kPrivateSize, .type = abi::kE820Reserved},
      {.addr = abi::kKernelBase, .size = low_end - abi::kKernelBase, .type = abi::kE820Ram},
  };
  for (size_t i = 1; i < layout.ram.size(); ++i) {
    e820.push_back({.addr = layout.ram[i].gpa, .size = layout.ram[i].size, .type = abi::kE820Ram});
  }
  return e820;
}

uint64_t PlaceInitrd(const GuestLayout& layout, uint64_t size, uint64_t lowest,
                     uint64_t highest_end) {
  lowest = std::max(lowest, abi::kKernelBase);
  uint64_t largest = 0;
  // Highest RAM first. (Not std::views::reverse: clang 14, which clang-tidy
  // uses, cannot compile libstdc++ 12's ranges.)
  for (size_t i = layout.ram.size(); i-- > 0;) {
    const RamRange& r = layout.ram[i];
    const uint64_t lo = std::max(r.gpa, lowest);
    const uint64_t hi = std::min(r.end(), highest_end);
    if (hi <= lo) continue;
    const uint64_t aligned_lo = AlignDown(lo + abi::kPageSize - 1, abi::kPageSize);
    if (aligned_lo < hi) largest = std::max(largest, hi - aligned_lo);
    if (hi - lo < size) continue;
    const uint64_t start = AlignDown(hi - size, abi::kPageSize);
    if (start >= lo) return start;
  }
  throw Error(fmt::format(
      "initrd of {} bytes ({}) does not fit in guest RAM between {:#x} and {:#x} (largest free "
      "space there: {}); give the guest more --memory",
      size, MiBText(size), lowest, highest_end, MiBText(largest)));
}

std::vector<abi::MemRange> BuildMemRanges(const GuestLayout& layout, uint64_t kernel_base,
                                          uint64_t kernel_end, uint64_t initrd_base,
                                          uint64_t initrd_size) {
  const RamRange* kernel_ram = FindRam(layout, kernel_base);
  if (kernel_base < abi::kKernelBase || kernel_ram == nullptr || kernel_end <= kernel_base ||
      kernel_end > kernel_ram->end()) {
    throw Error(fmt::format(
        "kernel [{:#x}, {:#x}) is not inside one RAM range at or above the kernel base {:#x}",
        kernel_base, kernel_end, abi::kKernelBase));
  }
  const uint64_t kernel_top = std::min(
      AlignDown(kernel_end + abi::kLargePageSize - 1, abi::kLargePageSize), kernel_ram->end());
  std::vector<abi::MemRange> ranges = {
      {.base = abi::kBootRegionBase,
       .size = abi::kBootRegionSize,
       .kind = abi::kRangeBoot,
       .home_node = 0},
      {.base = abi::kPrivateBase,
       .size = abi::kPrivateSize,
       .kind = abi::kRangePrivate,
       .home_node = 0},
      {.base = kernel_base,
       .size = kernel_top - kernel_base,
       .kind = abi::kRangeKernel,
       .home_node = 0},
  };
  if (initrd_size > 0) {
    // Its head may share the kernel's last 2 MiB, which is not shared RAM anyway.
    const uint64_t first = std::max(AlignDown(initrd_base, abi::kPageSize), kernel_top);
    const uint64_t end = AlignDown(initrd_base + initrd_size + abi::kPageSize - 1, abi::kPageSize);
    const RamRange* ram = FindRam(layout, initrd_base);
    if (initrd_base < kernel_end || ram == nullptr || end > ram->end()) {
      throw Error(fmt::format("initrd [{:#x}, {:#x}) is not inside one RAM range above the kernel",
                              initrd_base, initrd_base + initrd_size));
    }
    if (end > first) {
      ranges.push_back(
          {.base = first, .size = end - first, .kind = abi::kRangeInitrd, .home_node = 0});
    }
  }
  // The rest of RAM, in address order: each RAM range minus the pieces above
  // (sorted by base, non-overlapping).
  std::vector<abi::MemRange> taken = ranges;
  std::sort(taken.begin(), taken.end(),
            [](const abi::MemRange& a, const abi::MemRange& b) { return a.base < b.base; });
  for (const RamRange& r : layout.ram) {
    uint64_t cur = r.gpa;
    for (const abi::MemRange& t : taken) {
      const uint64_t t_end = t.base + t.size;
      if (t_end <= cur || t.base >= r.end()) continue;
      if (t.base > cur) {
        ranges.push_back(
            {.base = cur, .size = t.base - cur, .kind = abi::kRangeShared, .home_node = 0});
      }
      cur = std::max(cur, t_end);
    }
    if (cur < r.end()) {
      ranges.push_back(
          {.base = cur, .size = r.end() - cur, .kind = abi::kRangeShared, .home_node = 0});
    }
  }
  return ranges;
}

std::vector<abi::MemRange> SplitSharedByHome(const std::vector<abi::MemRange>& ranges,
                                             const std::vector<abi::MemRange>& homes) {
  std::vector<abi::MemRange> out;
  for (const abi::MemRange& r : ranges) {
    if (r.kind != abi::kRangeShared) out.push_back(r);
  }
  for (const abi::MemRange& r : ranges) {
    if (r.kind != abi::kRangeShared) continue;
    uint64_t covered = 0;
    for (const abi::MemRange& h : homes) {
      const uint64_t lo = std::max(r.base, h.base);
      const uint64_t hi = std::min(r.base + r.size, h.base + h.size);
      if (lo >= hi) continue;
      out.push_back(
          {.base = lo, .size = hi - lo, .kind = abi::kRangeShared, .home_node = h.home_node});
      covered += hi - lo;
    }
    if (covered != r.size) {
      throw Error(fmt::format("shared RAM [{:#x}, {:#x}) extends past the nodes' contributions",
                              r.base, r.base + r.size));
    }
  }
  return out;
}

}  // namespace ssivm

#include "hypervisor/x86/descriptors.h"

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"

namespace ssivm {
namespace {

constexpr uint64_t kTssLimit = 0x67;

// A code/data descriptor: base 0, limit 4 GiB, given access byte and flags.
constexpr uint64_t FlatDescriptor(uint8_t access, uint8_t flags) {
  return 0xffffull | (static_cast<uint64_t>(access) << 40) | (0xfull << 48) |
         (static_cast<uint64_t>(flags) << 52);
}

}  // namespace

uint16_t BuildGdt(const GuestMemory& mem, uint64_t gdt_gpa, uint32_t vcpus) {
  const uint64_t bytes = abi::kSelTssBase + 16ull * vcpus;
  if (bytes > abi::kGdtMaxSize) {
    throw Error(
        fmt::format("a GDT for {} vCPUs does not fit in {} bytes", vcpus, abi::kGdtMaxSize));
  }
  mem.Fill(gdt_gpa, bytes, 0);
  mem.WriteObject<uint64_t>(gdt_gpa + abi::kSelKernelCode, FlatDescriptor(0x9b, 0xa));  // L, G
  mem.WriteObject<uint64_t>(gdt_gpa + abi::kSelKernelData, FlatDescriptor(0x93, 0xc));  // D, G
  mem.WriteObject<uint64_t>(gdt_gpa + (abi::kSelUserCode32 & ~3), FlatDescriptor(0xfb, 0xc));
  mem.WriteObject<uint64_t>(gdt_gpa + (abi::kSelUserData & ~3), FlatDescriptor(0xf3, 0xc));
  mem.WriteObject<uint64_t>(gdt_gpa + (abi::kSelUserCode & ~3), FlatDescriptor(0xfb, 0xa));
  for (uint32_t v = 0; v < vcpus; ++v) {
    const uint64_t base = abi::VcpuSlotGpa(v) + abi::kSlotTss;
    const uint64_t low =
        kTssLimit | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((base >> 24) & 0xff) << 56);
    mem.WriteObject<uint64_t>(gdt_gpa + abi::TssSelector(v), low);
    mem.WriteObject<uint64_t>(gdt_gpa + abi::TssSelector(v) + 8, base >> 32);
  }
  return static_cast<uint16_t>(bytes - 1);
}

void BuildTss(const GuestMemory& mem, uint32_t vcpu) {
  const uint64_t slot = abi::VcpuSlotGpa(vcpu);
  const uint64_t tss = slot + abi::kSlotTss;
  mem.Fill(tss, kTssLimit + 1, 0);
  mem.WriteObject<uint64_t>(tss + 4, slot + abi::kSlotBootStackTop);            // RSP0
  mem.WriteObject<uint64_t>(tss + 0x24, slot + abi::kSlotIst1Top);              // IST1
  mem.WriteObject<uint64_t>(tss + 0x2c, slot + abi::kSlotIst2Top);              // IST2
  mem.WriteObject<uint16_t>(tss + 0x66, static_cast<uint16_t>(kTssLimit + 1));  // no I/O bitmap
}

}  // namespace ssivm

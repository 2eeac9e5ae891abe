#include "hypervisor/x86/cpu_setup.h"

#include <asm/kvm_para.h>

#include <algorithm>

#include "guest/abi/boot_info.h"

namespace ssivm {
namespace {

constexpr uint64_t kCr0Pe = 1ull << 0, kCr0Mp = 1ull << 1, kCr0Et = 1ull << 4, kCr0Ne = 1ull << 5,
                   kCr0Wp = 1ull << 16, kCr0Am = 1ull << 18, kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5, kCr4Pge = 1ull << 7, kCr4Osfxsr = 1ull << 9,
                   kCr4Osxmmexcpt = 1ull << 10;
constexpr uint64_t kEferSce = 1ull << 0, kEferLme = 1ull << 8, kEferLma = 1ull << 10,
                   kEferNxe = 1ull << 11;

kvm_segment FlatSegment(uint16_t selector, uint8_t type, bool code) {
  kvm_segment s{};
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.s = 1;
  s.l = code ? 1 : 0;
  s.db = code ? 0 : 1;
  s.g = 1;
  s.limit = 0xffffffff;
  return s;
}

}  // namespace

kvm_sregs LongModeSregs(const kvm_sregs& base, const BootCpuState& st) {
  kvm_sregs s = base;
  s.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Pg;
  s.cr3 = st.cr3;
  s.cr4 = kCr4Pae | kCr4Pge | kCr4Osfxsr | kCr4Osxmmexcpt;
  s.efer = kEferSce | kEferLme | kEferLma | kEferNxe;
  s.cs = FlatSegment(abi::kSelKernelCode, 0xb, true);
  s.ds = FlatSegment(abi::kSelKernelData, 0x3, false);
  s.es = s.fs = s.gs = s.ss = s.ds;
  s.tr = kvm_segment{};
  s.tr.selector = abi::TssSelector(st.vcpu);
  s.tr.base = abi::VcpuSlotGpa(st.vcpu) + abi::kSlotTss;
  s.tr.limit = 0x67;
  s.tr.type = 11;  // busy 64-bit TSS
  s.tr.present = 1;
  s.ldt = kvm_segment{};
  s.ldt.unusable = 1;
  s.gdt.base = abi::kGdtGpa;
  s.gdt.limit = st.gdt_limit;
  s.idt.base = abi::kIdtGpa;
  s.idt.limit = abi::kIdtSize - 1;
  return s;
}

kvm_regs LongModeRegs(const BootCpuState& st) {
  kvm_regs r{};
  r.rip = st.entry;
  r.rsp = abi::VcpuSlotGpa(st.vcpu) + abi::kSlotBootStackTop;
  r.rsi = st.boot_params_gpa;
  r.rdi = st.vcpu;
  r.rflags = 0x2;
  return r;
}

std::vector<kvm_cpuid_entry2> CpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           uint32_t vcpu, uint32_t tsc_khz,
                                           bool async_page_faults) {
  constexpr uint32_t kHypervisorBase = 0x40000000, kTimingLeaf = 0x40000010;
  constexpr uint32_t kKvmFeatures = 0x40000001;
  constexpr uint32_t kAsyncPfBits = (1u << KVM_FEATURE_ASYNC_PF) |
                                    (1u << KVM_FEATURE_ASYNC_PF_VMEXIT) |
                                    (1u << KVM_FEATURE_ASYNC_PF_INT);
  std::vector<kvm_cpuid_entry2> out;
  bool have_base = false;
  for (const kvm_cpuid_entry2& e : supported) {
    if (tsc_khz != 0 && e.function == kTimingLeaf) continue;  // ours replaces it
    out.push_back(e);
    if (tsc_khz != 0 && e.function == kHypervisorBase) {
      out.back().eax = std::max(out.back().eax, kTimingLeaf);
      have_base = true;
    }
  }
  if (tsc_khz != 0) {
    if (!have_base) {
      kvm_cpuid_entry2 base{};
      base.function = kHypervisorBase;
      base.eax = kTimingLeaf;
      out.push_back(base);
    }
    kvm_cpuid_entry2 timing{};
    timing.function = kTimingLeaf;
    timing.eax = tsc_khz;
    timing.ebx = 1'000'000;  // LAPIC bus: 1 GHz under KVM
    out.push_back(timing);
  }
  for (kvm_cpuid_entry2& e : out) {
    switch (e.function) {
      case 1:
        e.ebx = (e.ebx & 0x00ffffff) | (vcpu << 24);
        break;
      case 0xb:
      case 0x1f:
        e.edx = vcpu;
        break;
      case kKvmFeatures:
        if (!async_page_faults) e.eax &= ~kAsyncPfBits;
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace ssivm

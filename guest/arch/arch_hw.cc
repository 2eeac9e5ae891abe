// Hardware-assisted KVM: the kernel runs at CPL0, so the native instructions
// do the job (CPUID and MSR accesses exit to KVM by themselves).
#include "guest/abi/pv_devices.h"
#include "guest/arch/backend.h"

namespace ssivm::guest::arch {
namespace {

void HwIrqDisable() {
  asm volatile("cli" ::: "memory");
}
void HwIrqEnable() {
  asm volatile("sti" ::: "memory");
}
bool HwIrqsEnabled() {
  uint64_t flags;
  asm volatile("pushfq; pop %0" : "=r"(flags));
  return (flags & (1u << 9)) != 0;
}
void HwHalt() {
  asm volatile("hlt" ::: "memory");
}
// STI's one-instruction shadow makes "sti; hlt" atomic: no wake-up is lost.
void HwEnableAndHalt() {
  asm volatile("sti; hlt" ::: "memory");
}

// Where HLT runs in the guest (the VMM keeps it there for the DSM), the VMM
// halts the vCPU on this OUT instead (KVM_SET_MP_STATE HALTED before it
// re-enters KVM_RUN): KVM then sleeps the vCPU's thread until an interrupt
// is pending, as for an intercepted HLT.
void HwPortHalt() {
  asm volatile("outb %%al, %%dx" : : "d"(abi::kIdlePort), "a"(0) : "memory");
}
// The STI shadow covers the OUT: no interrupt is taken between the two, and
// one that is pending by the time KVM resumes the vCPU ends the halt at once
// (KVM blocks only while it has no deliverable event). No wake-up is lost.
void HwEnableAndPortHalt() {
  asm volatile("sti; outb %%al, %%dx" : : "d"(abi::kIdlePort), "a"(0) : "memory");
}
uint64_t HwReadCr2() {
  uint64_t cr2;
  asm volatile("mov %%cr2, %0" : "=r"(cr2));
  return cr2;
}

void HwCpuid(uint32_t leaf, uint32_t subleaf, CpuidRegs* r) {
  asm volatile("cpuid"
               : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
               : "a"(leaf), "c"(subleaf));
}

uint64_t HwRdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

void HwWrmsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr"
               :
               : "c"(msr), "a"(static_cast<uint32_t>(value)),
                 "d"(static_cast<uint32_t>(value >> 32))
               : "memory");
}

}  // namespace

const Backend kHardwareBackend = {
    .kind = Kind::Hardware,
    .halt_method = "hlt",
    .irq_disable = HwIrqDisable,
    .irq_enable = HwIrqEnable,
    .irqs_enabled = HwIrqsEnabled,
    .halt = HwHalt,
    .enable_and_halt = HwEnableAndHalt,
    .read_cr2 = HwReadCr2,
    .cpuid = HwCpuid,
    .rdmsr = HwRdmsr,
    .wrmsr = HwWrmsr,
};

const Backend kHardwareIdlePortBackend = {
    .kind = Kind::Hardware,
    .halt_method = "idle-port",
    .irq_disable = HwIrqDisable,
    .irq_enable = HwIrqEnable,
    .irqs_enabled = HwIrqsEnabled,
    .halt = HwPortHalt,
    .enable_and_halt = HwEnableAndPortHalt,
    .read_cr2 = HwReadCr2,
    .cpuid = HwCpuid,
    .rdmsr = HwRdmsr,
    .wrmsr = HwWrmsr,
};

}  // namespace ssivm::guest::arch

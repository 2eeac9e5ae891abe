// PVM (PLATFORM.md, "The PVM guest ABI"): the kernel runs at hardware CPL3.
// RFLAGS.IF is replaced by the vIF cell in this vCPU's slot, CPUID must be the
// PV form (int $0x1a) to see the VMM's table, and privileged instructions are
// replaced by hypercalls (int $0x1b, RAX = number, args RBX, RCX, RDX), which
// are cheaper than trapping them.
#include "guest/abi/boot_info.h"
#include "guest/abi/pv_devices.h"
#include "guest/arch/backend.h"

namespace ssivm::guest::arch {
namespace {

constexpr uint64_t kHcWrmsr = 0x1003;
constexpr uint64_t kHcHalt = 0x1009;

uint64_t Hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
  // The ABI names only RAX as the result; treat the argument registers and R11
  // (SYSCALL-style) as clobbered to stay safe.
  asm volatile("int $0x1b" : "+a"(nr), "+b"(a0), "+c"(a1), "+d"(a2) : : "r11", "memory");
  return nr;
}

// The vIF cell is at %gs:0 (arch::InitCpu): each access is one GS-relative
// instruction, so a thread that migrates between two of them never touches
// another vCPU's cell.
static_assert(abi::kSlotVifCell == 0);

void PvmIrqDisable() {
  asm volatile("movb $0, %%gs:0" ::: "memory");
}

void PvmIrqEnable() {
  asm volatile("movb $1, %%gs:0" ::: "memory");
  // An interrupt that arrived while vIF was 0 only set `pending`; the doorbell
  // makes KVM deliver it now (handled in the kernel, no VMM exit). If we
  // migrated right after the store, the doorbell is merely spurious.
  uint8_t pending;
  asm volatile("movb %%gs:1, %0" : "=r"(pending)::"memory");
  if (pending) asm volatile("outb %%al, %0" : : "N"(abi::kPvmDoorbellPort), "a"(0) : "memory");
}

bool PvmIrqsEnabled() {
  uint8_t enabled;
  asm volatile("movb %%gs:0, %0" : "=r"(enabled)::"memory");
  return enabled != 0;
}

// An interrupt between the enable and the hypercall is handled right away and
// then HALT sleeps until the next one: at worst one timer tick of latency.
void PvmEnableAndHalt() {
  PvmIrqEnable();
  Hypercall(kHcHalt, 0, 0, 0);
}

// MOV from CR2 traps and is emulated (several µs; only the panic path uses it).
uint64_t PvmReadCr2() {
  uint64_t cr2;
  asm volatile("mov %%cr2, %0" : "=r"(cr2));
  return cr2;
}

void PvmHalt() {
  Hypercall(kHcHalt, 0, 0, 0);
}

void PvmCpuid(uint32_t leaf, uint32_t subleaf, CpuidRegs* r) {
  asm volatile("int $0x1a"
               : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
               : "a"(leaf), "c"(subleaf)
               : "memory");
}

// RDMSR has no hypercall; the trapped instruction is emulated.
uint64_t PvmRdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

void PvmWrmsr(uint32_t msr, uint64_t value) {
  Hypercall(kHcWrmsr, msr, value, 0);
}

}  // namespace

const Backend kPvmBackend = {
    .kind = Kind::Pvm,
    .halt_method = "hypercall",
    .irq_disable = PvmIrqDisable,
    .irq_enable = PvmIrqEnable,
    .irqs_enabled = PvmIrqsEnabled,
    .halt = PvmHalt,
    .enable_and_halt = PvmEnableAndHalt,
    .read_cr2 = PvmReadCr2,
    .cpuid = PvmCpuid,
    .rdmsr = PvmRdmsr,
    .wrmsr = PvmWrmsr,
};

}  // namespace ssivm::guest::arch

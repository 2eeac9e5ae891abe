// Back-end selection and host detection.
#include "guest/arch/arch.h"

#include "guest/abi/boot_info.h"
#include "guest/arch/asm_abi.h"  // checks the assembly constants
#include "guest/arch/backend.h"
#include "guest/arch/idt.h"

extern "C" bool arch_probe_rdmsr(uint32_t msr, uint64_t* value);  // msr_probe.S
extern "C" void arch_probe_gp_entry();

// Read at every interrupt, written once at boot: with the kernel's other
// read-mostly globals, on pages no hot write shares (guest/kernel/layout.h).
#define ARCH_READ_MOSTLY __attribute__((section(".data.read_mostly")))

// entry.S: non-zero to return from interrupts with `popfq; ret` (PVM).
extern "C" {
ARCH_READ_MOSTLY constinit uint8_t arch_pvm_fast_return = 0;
}

namespace ssivm::guest::arch {
namespace {

constexpr uint32_t kMsrGsBase = 0xc0000101;

// Written once by the boot vCPU before the APs are released.
ARCH_READ_MOSTLY constinit const Backend* g_backend = nullptr;

}  // namespace

const char* KindName(Kind kind) {
  return kind == Kind::Pvm ? "pvm" : "hardware";
}

Kind Detect(Probe* probe) {
  idt::SetInterruptGate(idt::kVectorGeneralProtection, arch_probe_gp_entry, 0);
  uint64_t value = 0;
  const bool ok = arch_probe_rdmsr(abi::kMsrPvmSignature, &value);
  // Leave no handler behind: until real exception handlers exist, any fault
  // must escalate to a triple fault the VMM reports (ssi.fault=ud relies on
  // it; an empty #UD gate itself raises #GP).
  idt::ClearGate(idt::kVectorGeneralProtection);
  probe->faulted = !ok;
  probe->value = value;
  // KVM with ignore_msrs reads 0 instead of faulting: only the signature counts.
  return ok && value == abi::kPvmSignature ? Kind::Pvm : Kind::Hardware;
}

void Select(Kind kind, bool idle_port) {
  if (kind == Kind::Pvm) {
    g_backend = &kPvmBackend;
  } else {
    g_backend = idle_port ? &kHardwareIdlePortBackend : &kHardwareBackend;
  }
  arch_pvm_fast_return = kind == Kind::Pvm ? 1 : 0;
}

Kind Current() {
  return g_backend->kind;
}

const char* HaltMethod() {
  return g_backend->halt_method;
}

// Before Select() (early boot messages) interrupts are off and stay off.
void IrqDisable() {
  if (g_backend != nullptr) g_backend->irq_disable();
}
void IrqEnable() {
  if (g_backend != nullptr) g_backend->irq_enable();
}
bool IrqsEnabled() {
  return g_backend != nullptr && g_backend->irqs_enabled();
}
void Halt() {
  g_backend->halt();
}
void EnableAndHalt() {
  g_backend->enable_and_halt();
}
uint64_t ReadCr2() {
  return g_backend->read_cr2();
}

void InitCpu(uint64_t slot_base) {
  // The self pointer first: CurrentSlotBase() reads it through GS.
  *reinterpret_cast<volatile uint64_t*>(slot_base + abi::kSlotPerCpu) = slot_base;
  Wrmsr(kMsrGsBase, slot_base);
}
void Cpuid(uint32_t leaf, uint32_t subleaf, CpuidRegs* regs) {
  g_backend->cpuid(leaf, subleaf, regs);
}
uint64_t Rdmsr(uint32_t msr) {
  return g_backend->rdmsr(msr);
}
void Wrmsr(uint32_t msr, uint64_t value) {
  g_backend->wrmsr(msr, value);
}

}  // namespace ssivm::guest::arch

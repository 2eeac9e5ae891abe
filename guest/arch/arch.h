// The architecture interface: everything that differs between a PVM host and
// hardware-assisted KVM goes through here. Two back ends (arch_pvm.cc,
// arch_hw.cc) are always compiled in; the boot vCPU picks one with Detect() +
// Select() before releasing the APs.
//
// Port I/O and PAUSE are the same instructions on both hosts (on PVM, IN/OUT
// trap and are forwarded like on hardware), so they are plain inlines here.
#ifndef SSIVM_GUEST_ARCH_ARCH_H_
#define SSIVM_GUEST_ARCH_ARCH_H_

#include <stdint.h>

namespace ssivm::guest::arch {

enum class Kind { Pvm, Hardware };

const char* KindName(Kind kind);  // "pvm" / "hardware"

// What the signature-MSR probe saw, for diagnostics.
struct Probe {
  bool faulted;    // RDMSR raised #GP (hardware KVM)
  uint64_t value;  // the MSR value if it did not fault
};

// Probes MSR 0x4b564d11 with a temporary #GP gate. Boot vCPU only, before the
// APs are released (it borrows the shared IDT). Does not select a back end.
Kind Detect(Probe* probe);

// Selects the back end; every call below needs it. `idle_port`: the VMM
// offers abi::kIdlePort because HLT does not exit (boot info
// kFeatureIdlePort); the hardware back end then halts through that port (PVM
// keeps its HALT hypercall, which sleeps anyway). The APs observe the choice
// through the release barrier (smp.cc).
void Select(Kind kind, bool idle_port);
Kind Current();
// How Halt() waits, for the boot log: "hlt", "idle-port" or "hypercall".
const char* HaltMethod();

struct CpuidRegs {
  uint32_t eax, ebx, ecx, edx;
};

void IrqDisable();
void IrqEnable();  // PVM: rings the doorbell if an interrupt became pending
bool IrqsEnabled();
void Halt();  // idle until the next interrupt
// Idle primitive, called with interrupts disabled: enables them and waits for
// the next interrupt (which is handled before this returns, irqs enabled).
void EnableAndHalt();
// The faulting address of the last page fault.
uint64_t ReadCr2();

// Saves the interrupt state and disables; restores it (enabling only if it
// was enabled).
inline bool IrqSave() {
  const bool was = IrqsEnabled();
  IrqDisable();
  return was;
}
inline void IrqRestore(bool was_enabled) {
  if (was_enabled) IrqEnable();
}
// CPUID as the VMM configured it (on PVM the plain instruction would bypass it).
void Cpuid(uint32_t leaf, uint32_t subleaf, CpuidRegs* regs);
uint64_t Rdmsr(uint32_t msr);
void Wrmsr(uint32_t msr, uint64_t value);

// Per-CPU base: points GS at this vCPU's slot (vIF cell at %gs:0, per-CPU
// data at %gs:kSlotPerCpu). Each vCPU, first thing after Select().
void InitCpu(uint64_t slot_base);

// A synchronous trap into arch_interrupt with vector kSoftTrapVector, usable
// with interrupts disabled. INT3: PVM delivers #BP like hardware, but not a
// general INT n (KVM fails to emulate it); the kernel has no debugger use
// for #BP.
inline constexpr uint8_t kSoftTrapVector = 3;
inline void SoftTrap() {
  asm volatile("int3" ::: "memory");
}

inline void Pause() {
  asm volatile("pause" ::: "memory");
}

inline uint64_t ReadTsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

inline void Outb(uint16_t port, uint8_t value) {
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline void Outw(uint16_t port, uint16_t value) {
  asm volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline void Outl(uint16_t port, uint32_t value) {
  asm volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline uint8_t Inb(uint16_t port) {
  uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}
inline uint16_t Inw(uint16_t port) {
  uint16_t value;
  asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}
inline uint32_t Inl(uint16_t port) {
  uint32_t value;
  asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}

}  // namespace ssivm::guest::arch

#endif  // SSIVM_GUEST_ARCH_ARCH_H_

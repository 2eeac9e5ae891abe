// A KVM virtual machine: memory slots and the in-kernel irqchip.
#ifndef SSIVM_HYPERVISOR_KVM_KVM_VM_H_
#define SSIVM_HYPERVISOR_KVM_KVM_VM_H_

#include <cstdint>

#include "common/unique_fd.h"
#include "hypervisor/kvm/kvm_system.h"

namespace ssivm {

class KvmVm {
 public:
  explicit KvmVm(const KvmSystem& sys);

  int fd() const { return fd_.get(); }
  const KvmSystem& system() const { return *sys_; }

  // In-kernel LAPIC, IOAPIC and PIC; must precede vCPU creation.
  void CreateIrqchip();
  // Keeps KVM from resolving a vCPU's fault on a missing host page
  // asynchronously; must precede vCPU creation. Where the guest can take an
  // interrupt (in-kernel LAPIC, IF set) KVM hands such a fault to a kernel
  // worker (async page fault, even for a guest that never enabled the PV
  // feature) which faults the page in with FOLL_WRITE: userfaultfd then sees
  // every guest access, reads too, as a write fault from that worker, never
  // a read from the vCPU thread. KVM has no switch for async page faults; it
  // skips them when HLT does not exit and the guest has no PV async page
  // faults (kvm_can_do_async_pf), so this turns HLT exits off
  // (KVM_X86_DISABLE_EXITS_HLT; the PV async page fault CPUID bits must be
  // hidden too). On hardware KVM a HLT then halts in guest mode (the vCPU's
  // thread counts as running), so the ssivm guest idles through the idle
  // port instead (abi::kIdlePort); a PVM guest halts by hypercall and still
  // sleeps. Returns false where KVM refuses (kvm.mitigate_smt_rsb=Y).
  bool DisableAsyncPageFaults();
  // In-kernel i8254 PIT (after CreateIrqchip); throws if KVM lacks PIT2.
  void CreatePit();
  // The 3 pages VMX needs for real-mode emulation (APs start in real mode on
  // Intel hosts) and the EPT identity page; a GPA range that is not RAM.
  // No-ops where KVM lacks the capability.
  void SetRealModeAreas(uint64_t tss_gpa, uint64_t identity_map_gpa);
  // Guest RAM slot backed by host memory at `host`.
  void SetMemorySlot(uint32_t slot, uint64_t gpa, uint64_t size, void* host);
  // Drives an IOAPIC/PIC input line (edge: 1 then 0; level: hold).
  void IrqLine(uint32_t irq, bool level);
  // Delivers an MSI (e.g. a fixed interrupt to one LAPIC).
  void SignalMsi(uint64_t address, uint32_t data);

 private:
  const KvmSystem* sys_;
  UniqueFd fd_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_KVM_KVM_VM_H_

// InterruptSink (hypervisor/devices/interrupts.h) for one node: KVM's
// in-kernel IOAPIC/PIC (KVM_IRQ_LINE) and LAPICs (KVM_SIGNAL_MSI).
#ifndef SSIVM_HYPERVISOR_KVM_KVM_INTERRUPTS_H_
#define SSIVM_HYPERVISOR_KVM_KVM_INTERRUPTS_H_

#include "hypervisor/devices/interrupts.h"
#include "hypervisor/kvm/kvm_vm.h"

namespace ssivm {

// Thread-safe (KVM serialises the ioctls). The VM must outlive it.
class KvmInterrupts : public InterruptSink {
 public:
  explicit KvmInterrupts(KvmVm& vm) : vm_(vm) {}
  void SetIrqLine(uint32_t gsi, bool level) override { vm_.IrqLine(gsi, level); }
  void SendMsi(uint64_t address, uint32_t data) override { vm_.SignalMsi(address, data); }

 private:
  KvmVm& vm_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_KVM_KVM_INTERRUPTS_H_

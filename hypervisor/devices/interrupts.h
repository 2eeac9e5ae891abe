// Where device interrupts go: the one interface every interrupt source (UART,
// PV IPI, later virtio) uses. On one node it is KVM's in-kernel IOAPIC/PIC and
// LAPICs (hypervisor/kvm/kvm_interrupts.h). For multi-node guests a user-space
// IOAPIC/LAPIC model implements it and forwards each interrupt to the node
// that runs the target vCPU; the devices do not change.
#ifndef SSIVM_HYPERVISOR_DEVICES_INTERRUPTS_H_
#define SSIVM_HYPERVISOR_DEVICES_INTERRUPTS_H_

#include <cstdint>

namespace ssivm {

class InterruptSink {
 public:
  virtual ~InterruptSink() = default;
  // Drives an interrupt controller input line (a GSI; ISA IRQs 0-15 also
  // reach the 8259 PIC). Edge: true then false; level: hold.
  virtual void SetIrqLine(uint32_t gsi, bool level) = 0;
  // Delivers a message-signalled interrupt (address 0xfeeXXXXX, data).
  virtual void SendMsi(uint64_t address, uint32_t data) = 0;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_INTERRUPTS_H_

// The paravirtual idle port (abi::kIdlePort): a write halts the vCPU that
// made it until its next interrupt, as an intercepted HLT would. For a VMM
// that keeps HLT in the guest (the DSM does, to turn KVM's async page faults
// off), where an idle vCPU would otherwise spin in guest mode.
#ifndef SSIVM_HYPERVISOR_DEVICES_IDLE_PORT_H_
#define SSIVM_HYPERVISOR_DEVICES_IDLE_PORT_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

// Thread-safe: the halt function runs on the writing vCPU's own thread.
class IdlePort final : public PioDevice {
 public:
  // Puts `vcpu` (of this node, the one that wrote) in the halted state; it
  // stays there until an interrupt is pending (KVM_MP_STATE_HALTED).
  using Halt = std::function<void(uint32_t vcpu)>;

  // Throws Error if halt is empty.
  explicit IdlePort(Halt halt);

  uint32_t Read(uint16_t offset, uint8_t size) override;  // reads 0
  // Without a vCPU there is nothing to halt: refused (counted).
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;
  // Any size and value halts `vcpu`.
  void WriteFrom(uint32_t vcpu, uint16_t offset, uint8_t size, uint32_t value) override;

  uint64_t halts() const { return halts_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  const Halt halt_;
  std::atomic<uint64_t> halts_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_IDLE_PORT_H_

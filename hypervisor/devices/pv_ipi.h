// The paravirtual IPI device (abi::kPvIpiPort): one OUT names a target vCPU
// and a vector; the VMM delivers it. Cheaper on PVM than an emulated x2APIC
// ICR write, and the one place where cross-node forwarding will hook in.
#ifndef SSIVM_HYPERVISOR_DEVICES_PV_IPI_H_
#define SSIVM_HYPERVISOR_DEVICES_PV_IPI_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

class PvIpi : public PioDevice {
 public:
  using Deliver = std::function<void(uint32_t target_vcpu, uint8_t vector)>;

  // Throws Error if deliver is empty.
  PvIpi(uint32_t vcpu_count, Deliver deliver);

  uint32_t Read(uint16_t offset, uint8_t size) override;
  // Guest-controlled: a target beyond the vCPU count or a vector below 32
  // (exceptions) is refused and counted, never delivered.
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  const uint32_t vcpu_count_;
  const Deliver deliver_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_PV_IPI_H_

// A device on the x86 I/O-port bus.
#ifndef SSIVM_HYPERVISOR_DEVICES_PIO_DEVICE_H_
#define SSIVM_HYPERVISOR_DEVICES_PIO_DEVICE_H_

#include <cstdint>

namespace ssivm {

// The vCPU an access comes from, where none does: I/O forwarded by another
// node, or a test.
inline constexpr uint32_t kNoVcpu = ~uint32_t{0};

// A device reached through IN/OUT instructions. The IoBus calls it with
// `offset` = port - base of the range the device was registered at, and
// `size` = 1, 2 or 4 bytes. An access starting inside the range is handed to
// the device whole, even if it extends past the range's last port.
//
// Write's `value` holds the `size` bytes zero-extended; the bus keeps only the
// low `size` bytes of what Read returns. Implementations say whether they are
// thread-safe: the bus calls them from every vCPU thread.
class PioDevice {
 public:
  virtual ~PioDevice();

  virtual uint32_t Read(uint16_t offset, uint8_t size) = 0;
  virtual void Write(uint16_t offset, uint8_t size, uint32_t value) = 0;
  // The same write, knowing which vCPU of this node made it (or kNoVcpu).
  // Only a device that acts on the writing vCPU itself (the idle port)
  // overrides this; for every other device the writer does not matter.
  virtual void WriteFrom(uint32_t vcpu, uint16_t offset, uint8_t size, uint32_t value);
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_PIO_DEVICE_H_

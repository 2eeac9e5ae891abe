// The debug-exit port (abi::kDebugExitPort): the guest writes a status and
// the VMM stops the VM with it.
#ifndef SSIVM_HYPERVISOR_DEVICES_DEBUG_EXIT_H_
#define SSIVM_HYPERVISOR_DEVICES_DEBUG_EXIT_H_

#include <cstdint>
#include <functional>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

// Any write (1, 2 or 4 bytes, at any offset of its range) calls
// on_exit(value), the value zero-extended; reads return 0. Thread-safe if
// on_exit is: it runs on the writing vCPU's thread, once per write (several
// vCPUs may exit at once; the VMM decides which status wins).
class DebugExit : public PioDevice {
 public:
  using ExitCallback = std::function<void(uint32_t status)>;

  explicit DebugExit(ExitCallback on_exit);

  uint32_t Read(uint16_t offset, uint8_t size) override;
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

 private:
  const ExitCallback on_exit_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_DEBUG_EXIT_H_

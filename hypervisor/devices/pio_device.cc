#include "hypervisor/devices/pio_device.h"

namespace ssivm {

PioDevice::~PioDevice() = default;

void PioDevice::WriteFrom(uint32_t, uint16_t offset, uint8_t size, uint32_t value) {
  Write(offset, size, value);
}

}  // namespace ssivm

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

PioDevice::~PioDevice() = default;

}  // namespace ssivm

#include "hypervisor/devices/pv_ipi.h"

#include "common/error.h"
#include "guest/abi/pv_devices.h"

namespace ssivm {

PvIpi::PvIpi(uint32_t vcpu_count, Deliver deliver)
    : vcpu_count_(vcpu_count), deliver_(std::move(deliver)) {
  if (!deliver_) throw Error("PV IPI device needs a delivery function");
}

uint32_t PvIpi::Read(uint16_t, uint8_t) {
  return 0;
}

void PvIpi::Write(uint16_t offset, uint8_t size, uint32_t value) {
  const uint32_t target = abi::PvIpiTarget(value);
  const uint8_t vector = abi::PvIpiVector(value);
  if (offset != 0 || size != 4 || target >= vcpu_count_ || vector < 32) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  deliver_(target, vector);
  delivered_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ssivm

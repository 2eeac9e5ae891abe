// The VMM's paravirtual IPI device (abi::kPvIpiPort): one 32-bit OUT sends a
// fixed interrupt to any vCPU, on any node. Same on both hosts.
#ifndef SSIVM_GUEST_DRIVERS_PV_IPI_H_
#define SSIVM_GUEST_DRIVERS_PV_IPI_H_

#include <stdint.h>

#include "guest/abi/pv_devices.h"
#include "guest/arch/arch.h"

namespace ssivm::guest {

inline void SendIpi(uint32_t target_vcpu, uint8_t vector) {
  arch::Outl(abi::kPvIpiPort, abi::PvIpi(target_vcpu, vector));
}

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_DRIVERS_PV_IPI_H_

// The VMM's PV info device (abi::kPvInfoPort): statistics of the node the
// calling vCPU runs on. One selector per node, so readers serialize.
#ifndef SSIVM_GUEST_DRIVERS_PV_INFO_H_
#define SSIVM_GUEST_DRIVERS_PV_INFO_H_

#include <stdint.h>

#include "guest/abi/pv_devices.h"
#include "guest/arch/arch.h"

namespace ssivm::guest {

inline uint64_t ReadPvInfo(abi::PvInfoKey key) {
  arch::Outl(abi::kPvInfoPort, key);
  const uint64_t low = arch::Inl(abi::kPvInfoPort);
  return low | (static_cast<uint64_t>(arch::Inl(abi::kPvInfoPort + 4)) << 32);
}

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_DRIVERS_PV_INFO_H_

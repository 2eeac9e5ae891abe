// The PV info device (abi::kPvInfoPort): the guest reads this node's VMM
// statistics, 64-bit values selected by key.
#ifndef SSIVM_HYPERVISOR_DEVICES_PV_INFO_H_
#define SSIVM_HYPERVISOR_DEVICES_PV_INFO_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

class PvInfo final : public PioDevice {
 public:
  // Returns the value of a key, or nullopt if the key is unknown.
  using Lookup = std::function<std::optional<uint64_t>(uint32_t key)>;
  explicit PvInfo(Lookup lookup);

  uint32_t Read(uint16_t offset, uint8_t size) override;
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

 private:
  const Lookup lookup_;
  std::mutex mu_;
  uint64_t value_ = ~uint64_t{0};
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_PV_INFO_H_

#include "hypervisor/devices/pv_info.h"

#include "common/error.h"

namespace ssivm {

PvInfo::PvInfo(Lookup lookup) : lookup_(std::move(lookup)) {
  if (!lookup_) throw Error("PV info device needs a lookup function");
}

uint32_t PvInfo::Read(uint16_t offset, uint8_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (size != 4 || (offset != 0 && offset != 4)) return ~uint32_t{0};
  return static_cast<uint32_t>(offset == 0 ? value_ : value_ >> 32);
}

void PvInfo::Write(uint16_t offset, uint8_t size, uint32_t value) {
  // The value is taken when selected, so both halves belong together.
  const std::optional<uint64_t> v =
      offset == 0 && size == 4 ? lookup_(value) : std::optional<uint64_t>{};
  std::lock_guard<std::mutex> lock(mu_);
  value_ = v.value_or(~uint64_t{0});
}

}  // namespace ssivm

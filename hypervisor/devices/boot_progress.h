// The boot-progress port (abi::kBootProgressPort): the guest reports boot
// milestones per vCPU and the VMM timestamps them.
#ifndef SSIVM_HYPERVISOR_DEVICES_BOOT_PROGRESS_H_
#define SSIVM_HYPERVISOR_DEVICES_BOOT_PROGRESS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

struct BootMilestone {
  uint32_t vcpu;
  uint16_t milestone;
  const char* name;                      // abi::MilestoneName(milestone); nullptr if unknown
  std::chrono::nanoseconds since_start;  // since the VMM process started
  int64_t monotonic_ns;                  // CLOCK_MONOTONIC at the write
};

// A write of abi::BootProgress(vcpu, milestone) (any size, any offset; the
// value zero-extended) calls sink with the decoded milestone; unknown
// milestone numbers are reported too, with a null name. Reads return 0.
//
// The first time each (vcpu, milestone) pair was seen is kept for
// FirstSeen(), for up to kMaxRecorded distinct pairs (a guest cannot make
// the VMM grow without bound); later pairs are still passed to sink.
//
// Thread-safe: vCPU threads write concurrently. sink runs on the writing
// thread, outside the internal lock, so it must be thread-safe itself.
class BootProgress : public PioDevice {
 public:
  using Sink = std::function<void(const BootMilestone&)>;

  static constexpr size_t kMaxRecorded = 4096;

  BootProgress(std::chrono::steady_clock::time_point process_start, Sink sink);

  uint32_t Read(uint16_t offset, uint8_t size) override;
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

  // Time since process start of the first report of `milestone` by `vcpu`.
  std::optional<std::chrono::nanoseconds> FirstSeen(uint32_t vcpu, uint16_t milestone) const;

 private:
  const std::chrono::steady_clock::time_point process_start_;
  const Sink sink_;

  mutable std::mutex mu_;
  std::map<std::pair<uint32_t, uint16_t>, std::chrono::nanoseconds> first_seen_;  // guarded by mu_
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_BOOT_PROGRESS_H_

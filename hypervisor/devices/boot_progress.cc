#include "hypervisor/devices/boot_progress.h"

#include <ctime>

#include "common/error.h"
#include "guest/abi/pv_devices.h"

namespace ssivm {
namespace {

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

BootProgress::BootProgress(std::chrono::steady_clock::time_point process_start, Sink sink)
    : process_start_(process_start), sink_(std::move(sink)) {
  if (!sink_) throw Error("boot-progress device: no milestone sink");
}

uint32_t BootProgress::Read(uint16_t /*offset*/, uint8_t /*size*/) {
  return 0;
}

void BootProgress::Write(uint16_t /*offset*/, uint8_t /*size*/, uint32_t value) {
  const int64_t monotonic_ns = MonotonicNs();
  const auto since_start = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - process_start_);
  const BootMilestone m{
      .vcpu = abi::BootProgressVcpu(value),
      .milestone = abi::BootProgressMilestone(value),
      .name = abi::MilestoneName(abi::BootProgressMilestone(value)),
      .since_start = since_start,
      .monotonic_ns = monotonic_ns,
  };
  {
    std::lock_guard lock(mu_);
    const std::pair<uint32_t, uint16_t> key{m.vcpu, m.milestone};
    auto it = first_seen_.find(key);
    if (it == first_seen_.end()) {
      if (first_seen_.size() < kMaxRecorded) first_seen_.emplace(key, since_start);
    } else if (since_start < it->second) {
      it->second = since_start;  // a racing vCPU timestamped its write earlier
    }
  }
  sink_(m);
}

std::optional<std::chrono::nanoseconds> BootProgress::FirstSeen(uint32_t vcpu,
                                                                uint16_t milestone) const {
  std::lock_guard lock(mu_);
  auto it = first_seen_.find({vcpu, milestone});
  if (it == first_seen_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ssivm

// KVM's binary statistics of a VM or a vCPU (KVM_GET_STATS_FD, Linux 5.14+),
// read by name: e.g. a vCPU's "halt_wait_ns", the time it slept halted.
#ifndef SSIVM_HYPERVISOR_KVM_KVM_STATS_H_
#define SSIVM_HYPERVISOR_KVM_KVM_STATS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace ssivm {

// The byte offset of each statistic's first value in the data block, by
// name, from a descriptor block of `count` descriptors, each a 16-byte
// header (flags, exponent, size, offset, bucket_size) followed by a
// NUL-padded name of `name_size` bytes. Throws Error if the block is short.
std::map<std::string, uint32_t, std::less<>> ParseKvmStatsDescriptors(
    std::span<const uint8_t> block, uint32_t count, uint32_t name_size);

class KvmStats {
 public:
  // The statistics of the VM or vCPU behind `kvm_fd`; nullopt where KVM has
  // no binary statistics. Throws Error if the stats file is malformed.
  static std::optional<KvmStats> Open(int kvm_fd);

  // The current value of `name` (its first, for a multi-value statistic);
  // nullopt if KVM has no statistic by that name. Thread-safe (pread).
  std::optional<uint64_t> Read(std::string_view name) const;

 private:
  KvmStats(UniqueFd fd, uint32_t data_offset, std::map<std::string, uint32_t, std::less<>> offsets)
      : fd_(std::move(fd)), data_offset_(data_offset), offsets_(std::move(offsets)) {}

  UniqueFd fd_;
  uint32_t data_offset_;
  std::map<std::string, uint32_t, std::less<>> offsets_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_KVM_KVM_STATS_H_

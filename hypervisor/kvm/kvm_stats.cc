#include "hypervisor/kvm/kvm_stats.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

// struct kvm_stats_desc without its name: the header declares the name as a
// flexible array, which C++ sizes differently (see kvm_abi_fix.h).
struct StatsDescHeader {
  uint32_t flags;
  int16_t exponent;
  uint16_t size;
  uint32_t offset;
  uint32_t bucket_size;
};
static_assert(sizeof(StatsDescHeader) == 16);

void PreadAll(int fd, void* out, size_t size, uint64_t offset, const char* what) {
  const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
  if (n < 0) ThrowErrno(fmt::format("read the KVM statistics' {}", what));
  if (static_cast<size_t>(n) != size) {
    throw Error(
        fmt::format("KVM statistics: {} is short ({} of {} bytes at {})", what, n, size, offset));
  }
}

}  // namespace

std::map<std::string, uint32_t, std::less<>> ParseKvmStatsDescriptors(
    std::span<const uint8_t> block, uint32_t count, uint32_t name_size) {
  const size_t stride = sizeof(StatsDescHeader) + name_size;
  if (block.size() < stride * count) {
    throw Error(fmt::format("KVM statistics: {} descriptors of {} bytes need {} bytes, got {}",
                            count, stride, stride * count, block.size()));
  }
  std::map<std::string, uint32_t, std::less<>> offsets;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* d = block.data() + i * stride;
    StatsDescHeader h;
    std::memcpy(&h, d, sizeof(h));
    const char* name = reinterpret_cast<const char*>(d + sizeof(h));
    offsets.emplace(std::string(name, strnlen(name, name_size)), h.offset);
  }
  return offsets;
}

std::optional<KvmStats> KvmStats::Open(int kvm_fd) {
  UniqueFd fd(::ioctl(kvm_fd, KVM_GET_STATS_FD, nullptr));
  if (!fd.valid()) return std::nullopt;  // before Linux 5.14
  kvm_stats_header header{};
  PreadAll(fd.get(), &header, sizeof(header), 0, "header");
  std::vector<uint8_t> block((sizeof(StatsDescHeader) + header.name_size) * header.num_desc);
  PreadAll(fd.get(), block.data(), block.size(), header.desc_offset, "descriptors");
  return KvmStats(std::move(fd), header.data_offset,
                  ParseKvmStatsDescriptors(block, header.num_desc, header.name_size));
}

std::optional<uint64_t> KvmStats::Read(std::string_view name) const {
  const auto it = offsets_.find(name);
  if (it == offsets_.end()) return std::nullopt;
  uint64_t value = 0;
  PreadAll(fd_.get(), &value, sizeof(value), uint64_t{data_offset_} + it->second,
           fmt::format("value of {}", name).c_str());
  return value;
}

}  // namespace ssivm

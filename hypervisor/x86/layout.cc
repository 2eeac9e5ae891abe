#include "hypervisor/x86/layout.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"

namespace ssivm {

GuestLayout GuestLayout::Compute(uint64_t memory_mib, uint32_t vcpus) {
  if (memory_mib < kMinMemoryMiB || memory_mib > kMaxMemoryMiB) {
    throw Error(fmt::format("guest memory of {} MiB is out of range: ssivm needs {} to {} MiB",
                            memory_mib, kMinMemoryMiB, kMaxMemoryMiB));
  }
  if (vcpus < 1 || vcpus > abi::kMaxVcpus) {
    throw Error(
        fmt::format("{} vCPUs is out of range: ssivm supports 1 to {}", vcpus, abi::kMaxVcpus));
  }
  GuestLayout l;
  l.memory_bytes = memory_mib << 20;
  l.vcpus = vcpus;
  const uint64_t low = std::min(l.memory_bytes, abi::kMmioHoleBase);
  l.ram.push_back({0, low});
  if (l.memory_bytes > low) l.ram.push_back({abi::kMmioHoleEnd, l.memory_bytes - low});
  return l;
}

uint64_t GuestLayout::identity_map_end() const {
  return std::max(ram_end(), abi::kMmioHoleEnd);
}

}  // namespace ssivm

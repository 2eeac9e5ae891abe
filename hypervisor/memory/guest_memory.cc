#include "hypervisor/memory/guest_memory.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

GuestMemory::GuestMemory(std::vector<Region> regions) : regions_(std::move(regions)) {
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.gpa < b.gpa; });
  for (size_t i = 1; i < regions_.size(); ++i) {
    if (regions_[i - 1].gpa + regions_[i - 1].size > regions_[i].gpa) {
      throw Error(fmt::format("guest RAM regions at {:#x} and {:#x} overlap", regions_[i - 1].gpa,
                              regions_[i].gpa));
    }
  }
}

const GuestMemory::Region* GuestMemory::Find(uint64_t gpa, uint64_t size) const {
  for (const Region& r : regions_) {
    // Written to avoid overflow for hostile gpa/size values.
    if (gpa >= r.gpa && gpa - r.gpa <= r.size && size <= r.size - (gpa - r.gpa)) return &r;
  }
  return nullptr;
}

bool GuestMemory::Contains(uint64_t gpa, uint64_t size) const {
  return Find(gpa, size) != nullptr;
}

std::span<uint8_t> GuestMemory::Span(uint64_t gpa, uint64_t size) const {
  const Region* r = Find(gpa, size);
  if (r == nullptr) {
    throw Error(
        fmt::format("guest-physical range [{:#x}, +{:#x}) is not inside guest RAM", gpa, size));
  }
  return {r->host + (gpa - r->gpa), static_cast<size_t>(size)};
}

void GuestMemory::Write(uint64_t gpa, std::span<const uint8_t> bytes) const {
  if (bytes.empty()) return;
  std::memcpy(Span(gpa, bytes.size()).data(), bytes.data(), bytes.size());
}

void GuestMemory::Fill(uint64_t gpa, uint64_t size, uint8_t value) const {
  if (size == 0) return;
  std::memset(Span(gpa, size).data(), value, size);
}

}  // namespace ssivm

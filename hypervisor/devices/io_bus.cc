#include "hypervisor/devices/io_bus.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

std::string DescribeRange(const std::string& name, uint32_t base, uint32_t end) {
  return fmt::format("\"{}\" at ports {:#x}-{:#x}", name, base, end - 1);
}

}  // namespace

void IoBus::Register(uint16_t base, uint16_t count, std::string name, PioDevice* dev) {
  if (dev == nullptr) {
    throw Error(fmt::format("I/O device \"{}\" at port {:#x}: device is null", name, base));
  }
  if (count == 0) {
    throw Error(fmt::format("I/O device \"{}\" at port {:#x}: zero ports", name, base));
  }
  const uint32_t end = uint32_t{base} + count;
  if (end > 0x10000) {
    throw Error(fmt::format("I/O device \"{}\" at port {:#x} with {} ports runs past port 0xffff",
                            name, base, count));
  }
  // The first range starting after `base`, and the one before it, are the
  // only candidates for overlap since ranges are disjoint and sorted.
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), base,
                               [](uint16_t b, const Range& r) { return b < r.base; });
  const Range* clash = nullptr;
  if (next != ranges_.end() && next->base < end) clash = &*next;
  if (next != ranges_.begin() && std::prev(next)->end > base) clash = &*std::prev(next);
  if (clash != nullptr) {
    throw Error(fmt::format("I/O device {} overlaps I/O device {}", DescribeRange(name, base, end),
                            DescribeRange(clash->name, clash->base, clash->end)));
  }
  ranges_.insert(next, Range{base, end, std::move(name), dev});
}

const IoBus::Range* IoBus::Find(uint16_t port) const {
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), port,
                               [](uint16_t p, const Range& r) { return p < r.base; });
  if (next == ranges_.begin()) return nullptr;
  const Range& r = *std::prev(next);
  return port < r.end ? &r : nullptr;
}

bool IoBus::Handles(uint16_t port) const {
  return Find(port) != nullptr;
}

bool IoBus::Dispatch(bool is_write, uint16_t port, uint8_t size, uint8_t* data, uint32_t vcpu) {
  if (size != 1 && size != 2 && size != 4) {
    throw Error(fmt::format("bad I/O size {} at port {:#x}", size, port));
  }
  const Range* r = Find(port);
  if (r == nullptr) {
    unhandled_.fetch_add(1, std::memory_order_relaxed);
    if (!is_write) std::fill_n(data, size, uint8_t{0xff});
    return false;
  }
  const auto offset = static_cast<uint16_t>(port - r->base);
  if (is_write) {
    uint32_t value = 0;
    for (int i = 0; i < size; ++i) value |= uint32_t{data[i]} << (8 * i);
    r->dev->WriteFrom(vcpu, offset, size, value);
  } else {
    const uint32_t value = r->dev->Read(offset, size);
    for (int i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
  }
  return true;
}

bool IoBus::FirstUnhandled(uint16_t port) {
  const uint64_t bit = uint64_t{1} << (port % 64);
  return (seen_[port / 64].fetch_or(bit, std::memory_order_relaxed) & bit) == 0;
}

}  // namespace ssivm

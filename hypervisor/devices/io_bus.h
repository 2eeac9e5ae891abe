// The x86 I/O-port address space: routes each IN/OUT to the device that owns
// the port.
#ifndef SSIVM_HYPERVISOR_DEVICES_IO_BUS_H_
#define SSIVM_HYPERVISOR_DEVICES_IO_BUS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

// Threading: Register() is for setup, before any vCPU runs, and must not race
// with anything else. After setup the port map is immutable, and Dispatch(),
// Handles(), FirstUnhandled() and unhandled() may be called concurrently from
// any number of threads (the counters are atomic). Devices are not owned; they
// must outlive the bus.
class IoBus {
 public:
  IoBus() = default;
  IoBus(const IoBus&) = delete;
  IoBus& operator=(const IoBus&) = delete;

  // Gives ports [base, base + count) to `dev`, known as `name` in messages.
  // Throws Error if count is 0, the range runs past port 0xffff, dev is null,
  // or the range overlaps an earlier registration (naming both devices).
  void Register(uint16_t base, uint16_t count, std::string name, PioDevice* dev);

  // Performs one access of `size` (1, 2 or 4) bytes at `port` by `vcpu` (a
  // vCPU of this node, or kNoVcpu); `data` points at `size` bytes in guest
  // (little-endian) order. Reads fill data, writes consume it (the device's
  // WriteFrom). A port no device owns reads as all-ones and ignores writes;
  // such accesses are counted and the call returns false (true if a device
  // took the access). Throws Error("bad I/O size N at port 0x...") for any
  // other size; exceptions from the device propagate.
  bool Dispatch(bool is_write, uint16_t port, uint8_t size, uint8_t* data,
                uint32_t vcpu = kNoVcpu);

  // True if a device owns `port`.
  bool Handles(uint16_t port) const;

  // Number of accesses to ports without a device so far.
  uint64_t unhandled() const { return unhandled_.load(std::memory_order_relaxed); }

  // True the first time it is called for `port`, false afterwards: lets the
  // VMM log each distinct unhandled port once, e.g.
  //   if (!bus.Dispatch(...) && bus.FirstUnhandled(port)) log(...);
  // Memory is bounded: one bit per port (8 KiB).
  bool FirstUnhandled(uint16_t port);

 private:
  struct Range {
    uint16_t base;
    uint32_t end;  // one past the last port; up to 0x10000
    std::string name;
    PioDevice* dev;
  };

  // The range containing `port`, or nullptr.
  const Range* Find(uint16_t port) const;

  std::vector<Range> ranges_;  // sorted by base, disjoint
  std::atomic<uint64_t> unhandled_{0};
  std::array<std::atomic<uint64_t>, 65536 / 64> seen_{};
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_IO_BUS_H_

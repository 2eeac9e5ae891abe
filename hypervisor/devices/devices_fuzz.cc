// Fuzz target: a node's devices (its whole device table on one I/O bus, as
// on the device node) driven as a guest drives them: port reads and writes
// of any size at any port by any vCPU, mixed with console input from the
// host. Input: a sequence of accesses, each
//   u8 op: bit 7 set: host console input of (op & 7) + 1 bytes that follow;
//          else bit 0 write, bits 1-2 size (1, 2, 4, or 3: refused),
//          bits 3-4 the vCPU (0, 1, none, or 7: beyond the guest's 2)
//   u8 device: the table entry (port = its base + the next byte modulo its
//          port count + 1), or past the table: a raw u16 port follows
//   u32 value (writes only)
// A bad size is refused with Error; no access may crash or make a device
// pass on what it must refuse (an IPI to no vCPU or with an exception
// vector, a halt without a vCPU).
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <vector>

#include "common/error.h"
#include "guest/abi/pv_devices.h"
#include "hypervisor/devices/device_table.h"
#include "hypervisor/devices/io_bus.h"
#include "hypervisor/devices/node_devices.h"
#include "tests/support/fuzz.h"

namespace ssivm {
namespace {

constexpr uint32_t kGuestVcpus = 2;

class Input {
 public:
  explicit Input(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool empty() const { return at_ == bytes_.size(); }
  uint8_t U8() { return empty() ? 0 : bytes_[at_++]; }
  uint16_t U16() {
    const uint16_t lo = U8();
    return static_cast<uint16_t>(lo | U8() << 8);
  }
  uint32_t U32() {
    const uint32_t lo = U16();
    return lo | uint32_t{U16()} << 16;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

// Seeds: what a guest's drivers do, in the input's encoding. Entry indexes
// are those of NodeDevices::Table().
enum Entry : uint8_t { kCom1, kDebugExit, kBootProgress, kPvIpi, kIdle, kPvInfo, kCmos, kAcpiPm };

class Accesses {
 public:
  Accesses& Out(Entry e, uint8_t offset, uint8_t size, uint32_t value, uint8_t vcpu = 0) {
    Op(true, size, vcpu, e, offset);
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
    return *this;
  }
  Accesses& In(Entry e, uint8_t offset, uint8_t size, uint8_t vcpu = 0) {
    Op(false, size, vcpu, e, offset);
    return *this;
  }
  Accesses& Typed(uint8_t byte) {
    bytes_.push_back(0x80);
    bytes_.push_back(byte);
    return *this;
  }
  std::vector<uint8_t> bytes() const { return bytes_; }

 private:
  void Op(bool write, uint8_t size, uint8_t vcpu, Entry e, uint8_t offset) {
    const uint8_t size_bits = size == 1 ? 0 : size == 2 ? 1 : 2;
    bytes_.push_back(static_cast<uint8_t>((write ? 1 : 0) | size_bits << 1 | vcpu << 3));
    bytes_.push_back(e);
    bytes_.push_back(offset);
  }
  std::vector<uint8_t> bytes_;
};

std::vector<fuzz::Seed> Seeds() {
  const std::vector<uint8_t> uart = Accesses()
                                        .Out(kCom1, 3, 1, 0x80)  // LCR: DLAB
                                        .Out(kCom1, 0, 2, 1)     // divisor 1
                                        .Out(kCom1, 3, 1, 0x03)  // 8N1
                                        .Out(kCom1, 2, 1, 0xc7)  // FIFO on, cleared, trigger 14
                                        .Out(kCom1, 1, 1, 0x0f)  // every interrupt
                                        .Out(kCom1, 4, 1, 0x0b)  // DTR, RTS, OUT2
                                        .Out(kCom1, 0, 1, 'h')
                                        .In(kCom1, 5, 1)  // LSR
                                        .Typed('l')
                                        .Typed('s')
                                        .In(kCom1, 2, 1)  // IIR
                                        .In(kCom1, 0, 1)
                                        .In(kCom1, 0, 1)
                                        .Out(kCom1, 4, 1, 0x1f)  // loopback
                                        .Out(kCom1, 0, 4, 0x64636261)
                                        .In(kCom1, 0, 4)
                                        .In(kCom1, 6, 1)  // MSR
                                        .bytes();
  const std::vector<uint8_t> pv =
      Accesses()
          .Out(kBootProgress, 0, 4, abi::BootProgress(1, 3), 1)
          .Out(kPvInfo, 0, 4, abi::kInfoNodeCount)
          .In(kPvInfo, 0, 4)
          .In(kPvInfo, 4, 4)
          .Out(kPvIpi, 0, 4, abi::PvIpi(1, 0xf0))
          .Out(kPvIpi, 0, 4, abi::PvIpi(5, 0xf0))  // no such vCPU: refused
          .Out(kIdle, 0, 1, 0, 1)
          .Out(kIdle, 0, 1, 0, 2)  // no vCPU: refused
          .Out(kDebugExit, 0, 4, 0)
          .bytes();
  const std::vector<uint8_t> platform = Accesses()
                                            .Out(kCmos, 0, 1, 0x0a)
                                            .In(kCmos, 1, 1)
                                            .Out(kCmos, 0, 1, 0x32)  // century
                                            .In(kCmos, 1, 1)
                                            .Out(kCmos, 0, 1, 0x40)  // NVRAM
                                            .Out(kCmos, 1, 1, 0x5a)
                                            .In(kAcpiPm, 4, 2)
                                            .Out(kAcpiPm, 2, 2, 0x0100)
                                            .Out(kAcpiPm, 4, 2, 5 << 10 | 1 << 13)  // S5
                                            .bytes();
  return {{"uart_driver", uart}, {"pv_devices", pv}, {"cmos_acpi", platform}};
}
const fuzz::SeedRegistration kSeeds(&Seeds);

NodeDeviceHooks Hooks() {
  NodeDeviceHooks h;
  h.console_output = [](std::span<const uint8_t>) {};
  h.console_irq = [](bool) {};
  h.guest_exit = [](uint32_t) {};
  h.boot_progress = [](const BootMilestone&) {};
  h.vcpus = kGuestVcpus;
  h.send_ipi = [](uint32_t target, uint8_t vector) {
    fuzz::Check(target < kGuestVcpus && vector >= 32, "an IPI is delivered only if valid");
  };
  h.halt = [](uint32_t vcpu) { fuzz::Check(vcpu != kNoVcpu, "a halt names its vCPU"); };
  h.acpi_sleep = [](uint8_t) {};
  h.reset = [] {};
  h.clock = [] { return std::time_t{1700000000}; };
  h.info = [](uint32_t key) -> std::optional<uint64_t> {
    if (key < 4) return uint64_t{key} * 1000;
    return std::nullopt;
  };
  return h;
}

void Drive(Input& in) {
  NodeDevices devices(Hooks());
  const std::vector<DeviceEntry> table = devices.Table();
  IoBus bus;
  RegisterDevices(bus, table, /*device_node=*/true, [](const DeviceEntry&) { return nullptr; });
  while (!in.empty()) {
    const uint8_t op = in.U8();
    if ((op & 0x80) != 0) {
      std::vector<uint8_t> typed((op & 7) + 1);
      for (uint8_t& b : typed) b = in.U8();
      devices.uart.PushInput(typed);
      continue;
    }
    static constexpr uint8_t kSizes[] = {1, 2, 4, 3};
    static constexpr uint32_t kVcpus[] = {0, 1, kNoVcpu, 7};
    const bool write = (op & 1) != 0;
    const uint8_t size = kSizes[(op >> 1) & 3];
    const uint32_t vcpu = kVcpus[(op >> 3) & 3];
    const uint8_t device = in.U8();
    uint16_t port;
    if (device % (table.size() + 1) < table.size()) {
      const DeviceEntry& e = table[device % (table.size() + 1)];
      port = static_cast<uint16_t>(e.base + in.U8() % (e.count + 1));
    } else {
      port = in.U16();
    }
    uint8_t data[4] = {};
    if (write) {
      const uint32_t value = in.U32();
      for (int i = 0; i < 4; ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
    }
    try {
      bus.Dispatch(write, port, size, data, vcpu);
    } catch (const Error&) {
      fuzz::Check(size == 3, "only a bad access size is refused");
    }
  }
}

}  // namespace
}  // namespace ssivm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssivm::Input in(ssivm::fuzz::Bytes(data, size));
  ssivm::Drive(in);
  return 0;
}

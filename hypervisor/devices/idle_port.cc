#include "hypervisor/devices/idle_port.h"

#include <utility>

#include "common/error.h"

namespace ssivm {

IdlePort::IdlePort(Halt halt) : halt_(std::move(halt)) {
  if (!halt_) throw Error("idle port needs a function that halts a vCPU");
}

uint32_t IdlePort::Read(uint16_t, uint8_t) {
  return 0;
}

void IdlePort::Write(uint16_t offset, uint8_t size, uint32_t value) {
  WriteFrom(kNoVcpu, offset, size, value);
}

void IdlePort::WriteFrom(uint32_t vcpu, uint16_t, uint8_t, uint32_t) {
  if (vcpu == kNoVcpu) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  halt_(vcpu);
  halts_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ssivm

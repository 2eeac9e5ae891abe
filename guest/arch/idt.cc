#include "guest/arch/idt.h"

#include "guest/abi/boot_info.h"

extern "C" void (*const arch_isr_stubs[256])();  // entry.S

namespace ssivm::guest::arch::idt {
namespace {

constexpr uint64_t kGateInterrupt64 = 0xe;
constexpr uint64_t kGatePresent = 0x80;

// volatile: the CPU (or PVM) reads the table, the compiler cannot see that.
volatile uint64_t* GateWords(uint8_t vector) {
  return reinterpret_cast<volatile uint64_t*>(abi::kIdtGpa + 16ull * vector);
}

}  // namespace

void InstallAll(uint8_t soft_vector) {
  for (int v = 0; v < 256; ++v) {
    const uint8_t ist = v < 32 && v != soft_vector ? kIstExceptions : kIstInterrupts;
    SetInterruptGate(static_cast<uint8_t>(v), arch_isr_stubs[v], ist, v == soft_vector ? 3 : 0);
  }
}

void SetInterruptGate(uint8_t vector, void (*handler)(), uint8_t ist, uint8_t dpl) {
  const auto offset = reinterpret_cast<uint64_t>(handler);
  const uint64_t low = (offset & 0xffff) | (uint64_t{abi::kSelKernelCode} << 16) |
                       (uint64_t{ist & 7u} << 32) |
                       ((kGatePresent | (uint64_t{dpl & 3u} << 5) | kGateInterrupt64) << 40) |
                       (((offset >> 16) & 0xffff) << 48);
  volatile uint64_t* gate = GateWords(vector);
  // High half first: the gate only becomes present with the low half.
  gate[1] = offset >> 32;
  gate[0] = low;
}

void ClearGate(uint8_t vector) {
  volatile uint64_t* gate = GateWords(vector);
  gate[0] = 0;
  gate[1] = 0;
}

}  // namespace ssivm::guest::arch::idt

#include "guest/arch/idt.h"

#include "guest/abi/boot_info.h"

namespace ssivm::guest::arch::idt {
namespace {

constexpr uint64_t kGateInterrupt64 = 0xe;
constexpr uint64_t kGatePresent = 0x80;

// volatile: the CPU (or PVM) reads the table, the compiler cannot see that.
volatile uint64_t* GateWords(uint8_t vector) {
  return reinterpret_cast<volatile uint64_t*>(abi::kIdtGpa + 16ull * vector);
}

}  // namespace

void SetInterruptGate(uint8_t vector, void (*handler)(), uint8_t ist) {
  const uint64_t offset = reinterpret_cast<uint64_t>(handler);
  const uint64_t low = (offset & 0xffff) | (uint64_t{abi::kSelKernelCode} << 16) |
                       (uint64_t{ist & 7u} << 32) | ((kGatePresent | kGateInterrupt64) << 40) |
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

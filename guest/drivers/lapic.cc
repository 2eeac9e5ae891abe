#include "guest/drivers/lapic.h"

#include "guest/arch/arch.h"

namespace ssivm::guest::lapic {
namespace {

constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint64_t kApicBaseEnable = 1u << 11;
constexpr uint64_t kApicBaseX2 = 1u << 10;
constexpr uint32_t kMsrId = 0x802;
constexpr uint32_t kMsrEoi = 0x80b;
constexpr uint32_t kMsrSvr = 0x80f;
constexpr uint32_t kMsrLvtTimer = 0x832;
constexpr uint32_t kMsrLvtLint0 = 0x835;
constexpr uint32_t kMsrLvtLint1 = 0x836;
constexpr uint32_t kMsrTimerInitial = 0x838;
constexpr uint32_t kMsrTimerCurrent = 0x839;
constexpr uint32_t kMsrTimerDivide = 0x83e;
constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtPeriodic = 1u << 17;
constexpr uint32_t kDivideBy1 = 0xb;

}  // namespace

void Init(uint8_t spurious_vector) {
  const uint64_t base = arch::Rdmsr(kMsrApicBase);
  // xAPIC -> x2APIC needs EN set first (EXTD alone is an invalid transition).
  if ((base & kApicBaseEnable) == 0) arch::Wrmsr(kMsrApicBase, base | kApicBaseEnable);
  if ((base & kApicBaseX2) == 0) {
    arch::Wrmsr(kMsrApicBase, base | kApicBaseEnable | kApicBaseX2);
  }
  arch::Wrmsr(kMsrSvr, kSvrEnable | spurious_vector);
  arch::Wrmsr(kMsrLvtLint0, kLvtMasked);
  arch::Wrmsr(kMsrLvtLint1, kLvtMasked);
  arch::Wrmsr(kMsrTimerDivide, kDivideBy1);
}

void StartPeriodicTimer(uint8_t vector, uint32_t period_ns) {
  arch::Wrmsr(kMsrLvtTimer, kLvtPeriodic | vector);
  arch::Wrmsr(kMsrTimerInitial, period_ns);
}

void StartMaskedCountdown(uint32_t ns) {
  arch::Wrmsr(kMsrLvtTimer, kLvtMasked | 0xff);
  arch::Wrmsr(kMsrTimerInitial, ns);
}

uint32_t TimerCount() {
  return static_cast<uint32_t>(arch::Rdmsr(kMsrTimerCurrent));
}

void StopTimer() {
  arch::Wrmsr(kMsrTimerInitial, 0);
}

void Eoi() {
  arch::Wrmsr(kMsrEoi, 0);
}

uint32_t Id() {
  return static_cast<uint32_t>(arch::Rdmsr(kMsrId));
}

}  // namespace ssivm::guest::lapic

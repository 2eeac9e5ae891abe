#include "guest/kernel/clock.h"

#include "guest/arch/arch.h"
#include "guest/drivers/lapic.h"
#include "guest/kernel/layout.h"
#include "guest/kernel/vectors.h"

namespace ssivm::guest::clock {
namespace {

SSIVM_READ_MOSTLY constinit uint64_t g_tsc_hz = 0;
SSIVM_READ_MOSTLY constinit uint64_t g_tsc_start = 0;

uint64_t FromCpuid() {
  arch::CpuidRegs r;
  arch::Cpuid(0x40000000, 0, &r);
  if (r.eax >= 0x40000010) {
    arch::Cpuid(0x40000010, 0, &r);
    if (r.eax != 0) return uint64_t{r.eax} * 1000;  // kHz
  }
  arch::Cpuid(0, 0, &r);
  const uint32_t max_leaf = r.eax;
  if (max_leaf >= 0x15) {
    arch::Cpuid(0x15, 0, &r);
    if (r.eax != 0 && r.ebx != 0 && r.ecx != 0) return uint64_t{r.ecx} * r.ebx / r.eax;
  }
  // Leaf 0x16 is the nominal base clock; on a VM it may not be the TSC's, so
  // the LAPIC measurement is preferred to it.
  return 0;
}

// 20 ms of the LAPIC timer's 1 GHz countdown against the TSC. Each count
// read is an exit (~20 µs), which bounds the error well under 1%.
uint64_t Measure() {
  constexpr uint32_t kNs = 20'000'000;
  lapic::StartMaskedCountdown(kNs);
  const uint64_t start = arch::ReadTsc();
  while (lapic::TimerCount() != 0) {
  }
  const uint64_t cycles = arch::ReadTsc() - start;
  lapic::StopTimer();
  return cycles * 1'000'000'000ull / kNs;
}

}  // namespace

void Init() {
  g_tsc_start = arch::ReadTsc();
  g_tsc_hz = FromCpuid();
  if (g_tsc_hz == 0) g_tsc_hz = Measure();
  if (g_tsc_hz == 0) g_tsc_hz = 1'000'000'000;  // keeps division safe
}

void StartTick() {
  lapic::StartPeriodicTimer(vec::kTimer, kTickNs);
}

uint64_t TscHz() {
  return g_tsc_hz;
}

uint64_t TscToNs(uint64_t cycles) {
  // Split so nothing overflows (and no 128-bit division from libgcc).
  return cycles / g_tsc_hz * 1'000'000'000ull + cycles % g_tsc_hz * 1'000'000'000ull / g_tsc_hz;
}

uint64_t Nanoseconds() {
  return TscToNs(arch::ReadTsc() - g_tsc_start);
}

}  // namespace ssivm::guest::clock

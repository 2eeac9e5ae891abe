// ipi: the first CPU sends an interrupt to every other CPU in turn (to
// itself on a 1-CPU machine) and waits until that CPU has taken it (its
// count of reschedule IPIs grows), `rounds` times. Reports the round trip;
// across nodes each IPI is a forwarded interrupt, so vCPUs moved meanwhile
// meet interrupts in flight (the migration test's use). One not taken
// within 10 s is lost: FAIL.
#include "guest/arch/arch.h"
#include "guest/drivers/pv_ipi.h"
#include "guest/kernel/percpu.h"
#include "guest/kernel/vectors.h"
#include "guest/kernel/workloads/workload.h"

namespace ssivm::guest::workloads {
namespace {

constexpr uint64_t kLostAfterNs = 10'000'000'000;

struct Ctx {
  uint64_t rounds;
  uint64_t sent;
  uint64_t lost;
  uint32_t lost_cpu;
};

uint64_t Taken(uint32_t cpu) {
  return __atomic_load_n(&CpuData(cpu)->counters.resched_ipis, __ATOMIC_ACQUIRE);
}

// Thread 0, on CPU 0.
void Body(uint32_t, void* p) {
  auto* c = static_cast<Ctx*>(p);
  const uint32_t cpus = Cpus();
  for (uint64_t r = 0; r < c->rounds && c->lost == 0; ++r) {
    for (uint32_t cpu = cpus > 1 ? 1 : 0; cpu < cpus; ++cpu) {
      const uint64_t before = Taken(cpu);
      SendIpi(cpu, vec::kReschedIpi);
      ++c->sent;
      const uint64_t deadline = NowNs() + kLostAfterNs;
      while (Taken(cpu) == before) {
        if (NowNs() > deadline) {
          ++c->lost;
          c->lost_cpu = cpu;
          return;
        }
        arch::Pause();
      }
    }
  }
}

}  // namespace

bool Ipi(const Args& args) {
  const Workload& w = *Find("ipi");
  Ctx c{};
  if (!ArgU64(w, args, 0, 2000, 1, 1ull << 32, &c.rounds)) {
    return Result("ipi", false, "bad arguments");
  }
  const uint64_t start = NowNs();
  if (!RunThreads(1, true, Body, &c)) return Result("ipi", false, "could not start a thread");
  const uint64_t ns = NowNs() - start;
  if (c.lost != 0) {
    return Result("ipi", false, "cpus=%u an IPI to cpu %u was not taken within 10 s (after %lu)",
                  Cpus(), c.lost_cpu, c.sent - 1);
  }
  return Result("ipi", true, "cpus=%u ipis=%lu round_trip_ns=%lu", Cpus(), c.sent, ns / c.sent);
}

}  // namespace ssivm::guest::workloads

// wakeup: every CPU is woken again and again. Each round starts one short
// thread pinned to each CPU and joins them: the other CPUs are idle, so each
// start is an IPI to one of them, and the joining CPU idles until the last
// thread's end wakes it (another IPI): the scheduler's wake-ups across
// CPUs (across nodes: forwarded interrupts). PASS if every thread of every
// round ran (an exact sum); reports the time a round takes.
#include "guest/kernel/workloads/workload.h"

namespace ssivm::guest::workloads {
namespace {

struct Ctx {
  uint64_t sum;
};

void Body(uint32_t i, void* p) {
  __atomic_fetch_add(&static_cast<Ctx*>(p)->sum, i + 1, __ATOMIC_RELAXED);
}

}  // namespace

bool Wakeup(const Args& args) {
  const Workload& w = *Find("wakeup");
  uint64_t rounds;
  if (!ArgU64(w, args, 0, 1000, 1, 1ull << 32, &rounds)) {
    return Result("wakeup", false, "bad arguments");
  }
  const uint32_t cpus = Cpus();
  Ctx c{};
  const uint64_t start = NowNs();
  for (uint64_t r = 0; r < rounds; ++r) {
    if (!RunThreads(cpus, true, Body, &c)) {
      return Result("wakeup", false, "could not start threads in round %lu", r);
    }
  }
  const uint64_t ns = NowNs() - start;
  const uint64_t want = rounds * cpus * (cpus + 1) / 2;
  const uint64_t sum = __atomic_load_n(&c.sum, __ATOMIC_RELAXED);
  return Result("wakeup", sum == want, "cpus=%u rounds=%lu sum=%lu/%lu round_us=%lu", cpus, rounds,
                sum, want, ns / rounds / 1000);
}

}  // namespace ssivm::guest::workloads

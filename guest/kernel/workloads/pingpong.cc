// pingpong: two threads on two CPUs (the same one on a 1-CPU machine) pass a
// token through one shared word; reports the round-trip latency.
#include "guest/arch/arch.h"
#include "guest/kernel/sched.h"
#include "guest/kernel/workloads/workload.h"

namespace ssivm::guest::workloads {
namespace {

struct Ctx {
  uint64_t rounds;
  alignas(64) uint64_t token;  // odd: the pong side's turn
};

// Spins for the token; on a single CPU the other side can only run if we
// yield, so yield after a short spin.
void WaitFor(const uint64_t* token, uint64_t want) {
  for (uint32_t spins = 0; __atomic_load_n(token, __ATOMIC_ACQUIRE) != want; ++spins) {
    if (spins < 2000) {
      arch::Pause();
    } else {
      sched::Yield();
      spins = 0;
    }
  }
}

void Body(uint32_t i, void* p) {
  auto* c = static_cast<Ctx*>(p);
  for (uint64_t r = 0; r < c->rounds; ++r) {
    const uint64_t mine = 2 * r + i;  // ping owns even values, pong odd
    WaitFor(&c->token, mine);
    __atomic_store_n(&c->token, mine + 1, __ATOMIC_RELEASE);
  }
}

}  // namespace

bool Pingpong(const Args& args) {
  const Workload& w = *Find("pingpong");
  uint64_t rounds;
  if (!ArgU64(w, args, 0, 2000, 1, 1ull << 32, &rounds)) {
    return Result("pingpong", false, "bad arguments");
  }
  Ctx c{};
  c.rounds = rounds;
  const uint64_t start = NowNs();
  // Pinned to CPUs 0 and 1 (both 0 with one CPU).
  if (!RunThreads(2, true, Body, &c)) return Result("pingpong", false, "could not start threads");
  const uint64_t ns = NowNs() - start;
  const bool pass = __atomic_load_n(&c.token, __ATOMIC_ACQUIRE) == 2 * rounds;
  return Result("pingpong", pass, "cpus=%u round_trips=%lu round_trip_ns=%lu", Cpus() > 1 ? 2 : 1,
                rounds, ns / rounds);
}

}  // namespace ssivm::guest::workloads

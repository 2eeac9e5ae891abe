// counter: T threads spread over all CPUs each do M atomic increments of one
// shared counter and L increments of a plain counter under a Mutex; both
// totals must be exact.
#include "guest/kernel/sync.h"
#include "guest/kernel/workloads/workload.h"
#include "guest/lib/atomic.h"

namespace ssivm::guest::workloads {
namespace {

struct Ctx {
  uint64_t atomic_incs;
  uint64_t locked_incs;
  Atomic<uint64_t> atomic_total;
  Mutex lock;
  uint64_t locked_total;  // only under `lock`
};

void Body(uint32_t, void* p) {
  auto* c = static_cast<Ctx*>(p);
  for (uint64_t i = 0; i < c->atomic_incs; ++i) c->atomic_total.FetchAdd(1, MemoryOrder::kRelaxed);
  for (uint64_t i = 0; i < c->locked_incs; ++i) {
    c->lock.Lock();
    // A read-modify-write the compiler cannot fuse into one locked op.
    const uint64_t v = __atomic_load_n(&c->locked_total, __ATOMIC_RELAXED);
    __atomic_store_n(&c->locked_total, v + 1, __ATOMIC_RELAXED);
    c->lock.Unlock();
  }
}

}  // namespace

bool Counter(const Args& args) {
  const Workload& w = *Find("counter");
  uint64_t threads, atomic_incs, locked_incs;
  if (!ArgU64(w, args, 0, uint64_t{2} * Cpus(), 1, 256, &threads) ||
      !ArgU64(w, args, 1, 100000, 0, 1ull << 32, &atomic_incs) ||
      !ArgU64(w, args, 2, 5000, 0, 1ull << 32, &locked_incs)) {
    return Result("counter", false, "bad arguments");
  }
  Ctx c{};
  c.atomic_incs = atomic_incs;
  c.locked_incs = locked_incs;
  const uint64_t start = NowNs();
  if (!RunThreads(static_cast<uint32_t>(threads), false, Body, &c)) {
    return Result("counter", false, "could not start %lu threads", threads);
  }
  const uint64_t ms = (NowNs() - start) / 1000000;
  const uint64_t atomic_total = c.atomic_total.Load(MemoryOrder::kAcquire);
  const uint64_t want_atomic = threads * atomic_incs;
  const uint64_t want_locked = threads * locked_incs;
  const bool pass = atomic_total == want_atomic && c.locked_total == want_locked;
  return Result("counter", pass, "threads=%lu cpus=%u atomic=%lu/%lu locked=%lu/%lu time=%lums",
                threads, Cpus(), atomic_total, want_atomic, c.locked_total, want_locked, ms);
}

}  // namespace ssivm::guest::workloads

// litmus: classic x86 litmus tests, run in batches across CPUs. Each batch
// runs `size` independent instances; the threads meet at a barrier before
// each batch so their accesses overlap. Outcomes x86-TSO forbids must never
// appear. SB's relaxed outcome (r0 = r1 = 0) is allowed and only reported.
#include "guest/arch/arch.h"
#include "guest/kernel/mem.h"
#include "guest/kernel/workloads/workload.h"
#include "guest/lib/format.h"

namespace ssivm::guest::workloads {
namespace {

// One instance's shared locations and results, a cache line apart.
struct Cell {
  alignas(64) volatile uint64_t x;
  alignas(64) volatile uint64_t y;
  alignas(64) volatile uint64_t r[4];
};

enum Test { kSb, kSbMfence, kSbLocked, kMp, kLb, kIriw, k2p2w, kTests };
const char* const kTestNames[kTests] = {"SB", "SB+mfence", "SB+xchg", "MP", "LB", "IRIW", "2+2W"};
const uint32_t kThreads[kTests] = {2, 2, 2, 2, 2, 4, 2};

struct Ctx {
  Test test;
  uint32_t threads;
  uint64_t size;
  Cell* cells;
  Barrier* barrier;
  struct alignas(64) Progress {
    uint64_t value;  // instances this thread has started
  } progress[4];
};

inline void Fence() {
  asm volatile("mfence" ::: "memory");
}
inline void Xchg(volatile uint64_t* p, uint64_t v) {
  asm volatile("xchg %0, %1" : "+r"(v), "+m"(*p) : : "memory");
}
inline void CompilerBarrier() {
  asm volatile("" ::: "memory");
}

void RunInstance(Test t, uint32_t me, Cell& c) {
  switch (t) {
    case kSb:
    case kSbMfence:
    case kSbLocked: {
      volatile uint64_t* mine = me == 0 ? &c.x : &c.y;
      volatile uint64_t* other = me == 0 ? &c.y : &c.x;
      if (t == kSbLocked) {
        Xchg(mine, 1);
      } else {
        *mine = 1;
        if (t == kSbMfence) Fence();
      }
      CompilerBarrier();
      c.r[me] = *other;
      break;
    }
    case kMp:
      if (me == 0) {
        c.x = 1;
        CompilerBarrier();
        c.y = 1;
      } else {
        c.r[0] = c.y;
        CompilerBarrier();
        c.r[1] = c.x;
      }
      break;
    case kLb:
      if (me == 0) {
        c.r[0] = c.x;
        CompilerBarrier();
        c.y = 1;
      } else {
        c.r[1] = c.y;
        CompilerBarrier();
        c.x = 1;
      }
      break;
    case kIriw:
      if (me == 0) {
        c.x = 1;
      } else if (me == 1) {
        c.y = 1;
      } else if (me == 2) {
        c.r[0] = c.x;
        CompilerBarrier();
        c.r[1] = c.y;
      } else {
        c.r[2] = c.y;
        CompilerBarrier();
        c.r[3] = c.x;
      }
      break;
    case k2p2w:
      if (me == 0) {
        c.x = 1;
        CompilerBarrier();
        c.y = 2;
      } else {
        c.y = 1;
        CompilerBarrier();
        c.x = 2;
      }
      break;
    default:
      break;
  }
}

// True if the instance's outcome is forbidden by x86-TSO.
bool Forbidden(Test t, const Cell& c) {
  switch (t) {
    case kSbMfence:
    case kSbLocked:
      return c.r[0] == 0 && c.r[1] == 0;
    case kMp:
      return c.r[0] == 1 && c.r[1] == 0;
    case kLb:
      return c.r[0] == 1 && c.r[1] == 1;
    case kIriw:
      return c.r[0] == 1 && c.r[1] == 0 && c.r[2] == 1 && c.r[3] == 0;
    case k2p2w:
      return c.x == 1 && c.y == 1;
    default:
      return false;
  }
}

// Each thread announces the instance it reached and waits a little for the
// others to reach it too, so the threads run the instances nearly in
// lockstep (otherwise one thread would finish its batch before the other
// starts and nothing would race). The wait is bounded: with more vCPUs than
// host cores (or threads sharing a CPU) the others may not be running, and
// the outcome check does not depend on the overlap.
void WaitForOthers(Ctx* ctx, uint32_t me, uint64_t i) {
  constexpr uint32_t kMaxSpins = 400;
  __atomic_store_n(&ctx->progress[me].value, i + 1, __ATOMIC_RELEASE);
  uint32_t spins = 0;
  for (uint32_t t = 0; t < ctx->threads; ++t) {
    while (__atomic_load_n(&ctx->progress[t].value, __ATOMIC_ACQUIRE) <= i) {
      if (++spins > kMaxSpins) return;
      arch::Pause();
    }
  }
}

// One batch: start together, then run every instance.
void Body(uint32_t me, void* p) {
  auto* ctx = static_cast<Ctx*>(p);
  ctx->barrier->Wait();
  for (uint64_t i = 0; i < ctx->size; ++i) {
    WaitForOthers(ctx, me, i);
    RunInstance(ctx->test, me, ctx->cells[i]);
  }
}

}  // namespace

bool Litmus(const Args& args) {
  const Workload& w = *Find("litmus");
  uint64_t batches, size;
  if (!ArgU64(w, args, 0, 40, 1, 1000000, &batches) || !ArgU64(w, args, 1, 500, 1, 100000, &size)) {
    return Result("litmus", false, "bad arguments");
  }
  auto* cells = static_cast<Cell*>(mem::Alloc(sizeof(Cell) * size));
  if (cells == nullptr) return Result("litmus", false, "out of memory");
  char summary[300];
  size_t used = 0;
  bool pass = true;
  for (int t = 0; t < kTests; ++t) {
    const uint32_t threads = kThreads[t];
    Barrier barrier(threads);
    Ctx ctx{static_cast<Test>(t), threads, size, cells, &barrier, {}};
    uint64_t forbidden = 0, relaxed = 0;
    for (uint64_t b = 0; b < batches; ++b) {
      __builtin_memset(cells, 0, sizeof(Cell) * size);
      for (auto& p : ctx.progress) p.value = 0;
      // Threads on distinct CPUs where there are enough (wrapping otherwise).
      if (!RunThreads(threads, true, Body, &ctx)) {
        mem::Free(cells);
        return Result("litmus", false, "could not start threads");
      }
      for (uint64_t i = 0; i < size; ++i) {
        if (Forbidden(static_cast<Test>(t), cells[i])) ++forbidden;
        if (t == kSb && cells[i].r[0] == 0 && cells[i].r[1] == 0) ++relaxed;
      }
    }
    if (forbidden != 0) pass = false;
    used += FormatToBuffer(summary + used, sizeof(summary) - used, "%s%s=%lu", t == 0 ? "" : " ",
                           kTestNames[t], t == kSb ? relaxed : forbidden);
    if (used >= sizeof(summary)) used = sizeof(summary) - 1;
  }
  mem::Free(cells);
  return Result("litmus", pass,
                "cpus=%u instances=%lu per test; forbidden outcomes seen: %s (SB: allowed r0=r1=0 "
                "count)",
                Cpus(), batches * size, summary);
}

}  // namespace ssivm::guest::workloads

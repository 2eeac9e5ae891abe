#include "guest/kernel/workloads/workload.h"

#include <stdarg.h>

#include "guest/abi/page.h"
#include "guest/arch/arch.h"
#include "guest/kernel/clock.h"
#include "guest/kernel/console.h"
#include "guest/kernel/mem.h"
#include "guest/kernel/sched.h"
#include "guest/lib/format.h"

namespace ssivm::guest::workloads {
namespace {

constexpr Workload kWorkloads[] = {
    {"counter", "[threads=2*cpus] [atomic_incs=100000] [locked_incs=5000]", Counter},
    {"litmus", "[batches=40] [batch_size=500]", Litmus},
    {"memtest", "[MiB=8] [passes=1] [node=local] [cpus=all]", Memtest},
    {"stream", "[elements=1048576] [reps=3]", Stream},
    {"compute", "[matrix_n=160]", Compute},
    {"pingpong", "[round_trips=2000]", Pingpong},
    {"wakeup", "[rounds=1000]", Wakeup},
    {"ipi", "[rounds=2000]", Ipi},
    {"initrd", "", Initrd},
    {"dsmlat", "[pages=500] (needs CPUs on 2 nodes)", Dsmlat},
    {nullptr, nullptr, nullptr},
};

struct ThreadArg {
  void (*fn)(uint32_t, void*);
  void* ctx;
  uint32_t index;
};

void ThreadEntry(void* p) {
  auto* a = static_cast<ThreadArg*>(p);
  a->fn(a->index, a->ctx);
}

}  // namespace

const Workload* List() {
  return kWorkloads;
}

const Workload* Find(StrView name) {
  for (const Workload* w = kWorkloads; w->name != nullptr; ++w) {
    if (name == StrView(w->name)) return w;
  }
  return nullptr;
}

bool ArgU64(const Workload& w, const Args& args, int i, uint64_t fallback, uint64_t min,
            uint64_t max, uint64_t* out) {
  if (i >= args.argc || args.argv[i].empty()) {
    *out = fallback;
    return true;
  }
  uint64_t v;
  if (!ParseU64(args.argv[i], &v) || v < min || v > max) {
    console::Printf("%s: bad argument '%.*s' (a number in [%lu, %lu]); usage: %s %s\n", w.name,
                    args.argv[i].Len(), args.argv[i].data, min, max, w.name, w.usage);
    return false;
  }
  *out = v;
  return true;
}

bool Result(const char* name, bool pass, const char* fmt, ...) {
  char details[400];
  va_list ap;
  va_start(ap, fmt);
  VFormatToBuffer(details, sizeof(details), fmt, ap);
  va_end(ap);
  console::Printf("RESULT %s %s %s\n", name, pass ? "PASS" : "FAIL", details);
  return pass;
}

uint32_t Cpus() {
  return CpuCount();
}

uint64_t NowNs() {
  return clock::Nanoseconds();
}

bool RunThreads(uint32_t n, bool pin, void (*fn)(uint32_t, void*), void* ctx) {
  auto* args = static_cast<ThreadArg*>(mem::Alloc(n * sizeof(ThreadArg)));
  // An array of n pointers.
  auto* threads =
      static_cast<Thread**>(mem::Alloc(n * sizeof(Thread*)));  // NOLINT(bugprone-sizeof-expression)
  bool ok = args != nullptr && threads != nullptr;
  uint32_t started = 0;
  for (; ok && started < n; ++started) {
    args[started] = {fn, ctx, started};
    threads[started] = sched::Spawn(ThreadEntry, &args[started], "work",
                                    pin ? static_cast<int32_t>(started % Cpus()) : kAnyCpu);
    if (threads[started] == nullptr) ok = false;
  }
  for (uint32_t i = 0; i < started; ++i) {
    if (threads[i] != nullptr) sched::Join(threads[i]);
  }
  mem::Free(args);
  mem::Free(threads);
  return ok;
}

Barrier::Barrier(uint32_t n) : n_(n), count_(&fallback_count_), release_(&fallback_release_) {
  if (auto* pages = static_cast<uint8_t*>(mem::AllocPages(2, mem::kLocalNode))) {
    count_ = reinterpret_cast<uint32_t*>(pages);
    release_ = reinterpret_cast<Release*>(pages + abi::kPageSize);
    *count_ = 0;
    *release_ = {};
  }
}

Barrier::~Barrier() {
  if (count_ != &fallback_count_) mem::FreePages(count_, 2);
}

// Sense-reversing: the last arrival bumps the generation. Waiters spin a
// little, then yield, so a waiter never holds a CPU another thread needs.
uint64_t Barrier::Wait() {
  const uint32_t gen = __atomic_load_n(&release_->generation, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(count_, 1, __ATOMIC_ACQ_REL) == n_) {
    const uint64_t now = arch::ReadTsc();
    __atomic_store_n(&release_->tsc, now, __ATOMIC_RELAXED);
    __atomic_store_n(count_, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&release_->generation, gen + 1, __ATOMIC_RELEASE);
    return now;
  }
  for (uint32_t spins = 0; __atomic_load_n(&release_->generation, __ATOMIC_ACQUIRE) == gen;
       ++spins) {
    if (spins < 2000) {
      arch::Pause();
    } else {
      sched::Yield();
    }
  }
  // Valid until the next round's last arrival, which needs this thread.
  return __atomic_load_n(&release_->tsc, __ATOMIC_RELAXED);
}

}  // namespace ssivm::guest::workloads

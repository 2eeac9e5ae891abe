// stream: STREAM's copy, scale, add and triad on 64-bit integers (the kernel
// is built without SSE; integer kernels move the same bytes), for 1..all
// threads, one per CPU. Reports MB/s (best of the repetitions); PASS if the
// final arrays hold exactly the values the sequence of kernels must produce.
#include "guest/arch/arch.h"
#include "guest/kernel/clock.h"
#include "guest/kernel/mem.h"
#include "guest/kernel/workloads/workload.h"
#include "guest/lib/format.h"

namespace ssivm::guest::workloads {
namespace {

constexpr uint64_t kScalar = 3;
constexpr int kKernels = 4;
const char* const kNames[kKernels] = {"copy", "scale", "add", "triad"};
constexpr uint64_t kBytesPerElement[kKernels] = {16, 16, 24, 24};

struct Ctx {
  uint64_t* a;
  uint64_t* b;
  uint64_t* c;
  uint64_t n;
  uint64_t reps;
  uint32_t threads;
  Barrier* barrier;
  uint64_t best_ns[kKernels];
};

void Body(uint32_t t, void* p) {
  auto* x = static_cast<Ctx*>(p);
  const uint64_t per = x->n / x->threads;
  const uint64_t lo = t * per;
  const uint64_t hi = t + 1 == x->threads ? x->n : lo + per;
  // Read once: thread 0 writes best_ns beside them (on a DSM, a page that
  // moves to thread 0's node at every round).
  uint64_t *a = x->a, *b = x->b, *c = x->c;
  const uint64_t reps = x->reps;
  Barrier& barrier = *x->barrier;
  for (uint64_t r = 0; r < reps; ++r) {
    for (int k = 0; k < kKernels; ++k) {
      const uint64_t start = barrier.Wait();
      switch (k) {
        case 0:
          for (uint64_t j = lo; j < hi; ++j) c[j] = a[j];
          break;
        case 1:
          for (uint64_t j = lo; j < hi; ++j) b[j] = kScalar * c[j];
          break;
        case 2:
          for (uint64_t j = lo; j < hi; ++j) c[j] = a[j] + b[j];
          break;
        default:
          for (uint64_t j = lo; j < hi; ++j) a[j] = b[j] + kScalar * c[j];
          break;
      }
      const uint64_t end = barrier.Wait();
      if (t == 0) {
        const uint64_t ns = clock::TscToNs(end - start);
        if (x->best_ns[k] == 0 || ns < x->best_ns[k]) x->best_ns[k] = ns;
      }
    }
  }
}

}  // namespace

bool Stream(const Args& args) {
  const Workload& w = *Find("stream");
  uint64_t n, reps;
  if (!ArgU64(w, args, 0, 1048576, 1024, 1ull << 28, &n) ||
      !ArgU64(w, args, 1, 3, 1, 1000, &reps)) {
    return Result("stream", false, "bad arguments");
  }
  const size_t pages = (n * 8 + abi::kPageSize - 1) / abi::kPageSize;
  auto* a = static_cast<uint64_t*>(mem::AllocPages(pages, mem::kLocalNode));
  auto* b = static_cast<uint64_t*>(mem::AllocPages(pages, mem::kLocalNode));
  auto* c = static_cast<uint64_t*>(mem::AllocPages(pages, mem::kLocalNode));
  if (a == nullptr || b == nullptr || c == nullptr) {
    mem::FreePages(a, pages);
    mem::FreePages(b, pages);
    mem::FreePages(c, pages);
    return Result("stream", false, "cannot allocate 3 x %lu elements", n);
  }
  char report[300];
  size_t used = 0;
  bool pass = true;
  for (uint32_t threads = 1; threads <= Cpus(); ++threads) {
    for (uint64_t j = 0; j < n; ++j) {
      a[j] = 1;
      b[j] = 2;
      c[j] = 0;
    }
    Barrier barrier(threads);
    Ctx ctx{a, b, c, n, reps, threads, &barrier, {}};
    if (!RunThreads(threads, true, Body, &ctx)) {
      pass = false;
      break;
    }
    uint64_t ea = 1, eb = 2, ec = 0;
    for (uint64_t r = 0; r < reps; ++r) {
      ec = ea;
      eb = kScalar * ec;
      ec = ea + eb;
      ea = eb + kScalar * ec;
    }
    for (uint64_t j = 0; j < n; ++j) {
      if (a[j] != ea || b[j] != eb || c[j] != ec) {
        pass = false;
        break;
      }
    }
    used += FormatToBuffer(report + used, sizeof(report) - used, " T=%u", threads);
    for (int k = 0; k < kKernels && used < sizeof(report); ++k) {
      const uint64_t ns = ctx.best_ns[k] == 0 ? 1 : ctx.best_ns[k];
      used += FormatToBuffer(report + used, sizeof(report) - used, "%c%s:%lu", k == 0 ? ' ' : ',',
                             kNames[k], kBytesPerElement[k] * n * 1000 / ns);
    }
    if (used >= sizeof(report)) used = sizeof(report) - 1;
  }
  mem::FreePages(a, pages);
  mem::FreePages(b, pages);
  mem::FreePages(c, pages);
  return Result("stream", pass, "elements=%lu reps=%lu MB/s:%s", n, reps, report);
}

}  // namespace ssivm::guest::workloads

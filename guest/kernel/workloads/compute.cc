// compute: integer matrix multiply C = A x B (64-bit, wrapping), rows split
// across threads; every thread count's result must equal the single-threaded
// one. Reports the speedup per thread count.
#include "guest/kernel/mem.h"
#include "guest/kernel/workloads/workload.h"
#include "guest/lib/format.h"

namespace ssivm::guest::workloads {
namespace {

struct Ctx {
  const uint64_t* a;
  const uint64_t* b;
  uint64_t* c;
  uint64_t n;
  uint32_t threads;
};

void Body(uint32_t t, void* p) {
  auto* x = static_cast<Ctx*>(p);
  const uint64_t n = x->n;
  for (uint64_t i = t; i < n; i += x->threads) {  // interleaved rows balance the load
    for (uint64_t j = 0; j < n; ++j) {
      uint64_t sum = 0;
      for (uint64_t k = 0; k < n; ++k) sum += x->a[i * n + k] * x->b[k * n + j];
      x->c[i * n + j] = sum;
    }
  }
}

}  // namespace

bool Compute(const Args& args) {
  const Workload& w = *Find("compute");
  uint64_t n;
  if (!ArgU64(w, args, 0, 160, 2, 2048, &n)) return Result("compute", false, "bad arguments");
  const size_t bytes = n * n * 8;
  auto* a = static_cast<uint64_t*>(mem::Alloc(bytes));
  auto* b = static_cast<uint64_t*>(mem::Alloc(bytes));
  auto* ref = static_cast<uint64_t*>(mem::Alloc(bytes));
  auto* c = static_cast<uint64_t*>(mem::Alloc(bytes));
  bool pass = a != nullptr && b != nullptr && ref != nullptr && c != nullptr;
  char report[300] = "";
  size_t used = 0;
  if (pass) {
    for (uint64_t i = 0; i < n * n; ++i) {
      a[i] = i * 2654435761u + 1;
      b[i] = (i ^ 0x5bd1e995) * 40503u;
    }
    Ctx single{a, b, ref, n, 1};
    pass = RunThreads(1, false, Body, &single);  // the reference (also warms the caches)
    uint64_t t1 = 0;
    for (uint32_t threads = 1; pass && threads <= Cpus(); ++threads) {
      __builtin_memset(c, 0, bytes);
      Ctx ctx{a, b, c, n, threads};
      const uint64_t start = NowNs();
      pass = RunThreads(threads, true, Body, &ctx);
      const uint64_t tn = NowNs() - start;
      if (threads == 1) t1 = tn;
      for (uint64_t i = 0; pass && i < n * n; ++i) pass = c[i] == ref[i];
      const uint64_t speedup_x100 = tn == 0 ? 0 : t1 * 100 / tn;
      used += FormatToBuffer(report + used, sizeof(report) - used, " T=%u:%luus,x%lu.%02lu",
                             threads, tn / 1000, speedup_x100 / 100, speedup_x100 % 100);
      if (used >= sizeof(report)) used = sizeof(report) - 1;
    }
  }
  mem::Free(a);
  mem::Free(b);
  mem::Free(ref);
  mem::Free(c);
  return Result("compute", pass, "matmul n=%lu verified against 1 thread; speedup:%s", n, report);
}

}  // namespace ssivm::guest::workloads

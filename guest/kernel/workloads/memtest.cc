// memtest: every CPU fills its share of a region with an address-dependent
// pattern, then each share is verified by another CPU's thread (shifted by
// one), so every word crosses CPUs. A second pass uses the inverted pattern.
#include "guest/kernel/mem.h"
#include "guest/kernel/workloads/workload.h"
#include "guest/lib/atomic.h"

namespace ssivm::guest::workloads {
namespace {

struct Ctx {
  uint64_t* base;
  uint64_t words;
  uint32_t threads;
  uint64_t seed;
  bool verify;
  Atomic<uint64_t> errors;
  Atomic<uint64_t> first_bad;  // address + 1 of the first mismatch, 0 if none
};

inline uint64_t Pattern(uint64_t addr, uint64_t seed) {
  uint64_t v = addr * 0x9e3779b97f4a7c15ull ^ seed;
  return v ^ (v >> 29);
}

void Body(uint32_t i, void* p) {
  auto* c = static_cast<Ctx*>(p);
  // Verifiers take the next thread's share.
  const uint32_t share = c->verify ? (i + 1) % c->threads : i;
  const uint64_t per = c->words / c->threads;
  const uint64_t begin = share * per;
  const uint64_t end = share + 1 == c->threads ? c->words : begin + per;
  uint64_t errors = 0;
  for (uint64_t w = begin; w < end; ++w) {
    volatile uint64_t* word = c->base + w;
    const uint64_t want = Pattern(reinterpret_cast<uint64_t>(word), c->seed);
    if (!c->verify) {
      *word = want;
    } else if (*word != want) {
      if (errors++ == 0) {
        uint64_t none = 0;
        c->first_bad.CompareExchange(none, reinterpret_cast<uint64_t>(word) + 1,
                                     MemoryOrder::kRelaxed);
      }
    }
  }
  c->errors.FetchAdd(errors, MemoryOrder::kRelaxed);
}

}  // namespace

bool Memtest(const Args& args) {
  const Workload& w = *Find("memtest");
  uint64_t mib, passes, node, cpus;
  // The region comes from one node's memory (default: the running CPU's),
  // so a test can aim at a given home, e.g. one above the MMIO hole; the
  // threads run on CPUs 0..cpus-1 (default: all), so one CPU can walk
  // memory homed elsewhere by itself.
  if (!ArgU64(w, args, 0, 8, 1, 1 << 20, &mib) || !ArgU64(w, args, 1, 1, 1, 1000, &passes) ||
      !ArgU64(w, args, 2, mem::kLocalNode, 0, mem::NodeCount() - 1, &node) ||
      !ArgU64(w, args, 3, Cpus(), 1, Cpus(), &cpus)) {
    return Result("memtest", false, "bad arguments");
  }
  const size_t pages = mib << 8;
  auto* base = static_cast<uint64_t*>(mem::AllocPages(pages, static_cast<uint32_t>(node)));
  if (base == nullptr) return Result("memtest", false, "cannot allocate %lu MiB", mib);
  Ctx c{};
  c.base = base;
  c.words = (mib << 20) / 8;
  c.threads = static_cast<uint32_t>(cpus);
  const uint64_t start = NowNs();
  bool ok = true;
  for (uint64_t pass = 0; ok && pass < 2 * passes; ++pass) {
    c.seed = pass % 2 == 0 ? 0x5555aaaa5555aaaaull + pass : ~(0x5555aaaa5555aaaaull + pass);
    c.verify = false;
    ok = RunThreads(c.threads, true, Body, &c);
    c.verify = true;
    ok = ok && RunThreads(c.threads, true, Body, &c);
  }
  const uint64_t ms = (NowNs() - start) / 1000000;
  mem::FreePages(base, pages);
  if (!ok) return Result("memtest", false, "could not start threads");
  const uint64_t errors = c.errors.Load(MemoryOrder::kRelaxed);
  const uint64_t bad = c.first_bad.Load(MemoryOrder::kRelaxed);
  return Result("memtest", errors == 0,
                "cpus=%u region=%luMiB at %#lx passes=%lu errors=%lu first_bad=%#lx time=%lums",
                c.threads, mib, reinterpret_cast<uint64_t>(base), 2 * passes, errors,
                bad == 0 ? 0 : bad - 1, ms);
}

}  // namespace ssivm::guest::workloads

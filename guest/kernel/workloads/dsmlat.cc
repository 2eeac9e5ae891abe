// dsmlat: DSM fault latency as a vCPU sees it. First the floor: a thread on
// a CPU of node A touches fresh pages homed on A (each a local fault, zero-
// filled by A's own handler, no network). Then a thread on a CPU of node B
// writes `pages` pages homed on B (B owns them exclusively); then a thread on
// a CPU of node A (A != B) reads each page once (a remote read fault: the
// page comes over the network) and then writes each (a write upgrade: the
// home invalidates its copy, no data moves). Every access is timed with the
// TSC (clock::TscHz: the VMM's CPUID leaf, else calibrated). Reports median
// and p99 in nanoseconds; passes if every page read back what B wrote.
// Also reports which userfaultfd faults node A's VMM saw during each phase
// (its PV info device): the read phase should be read faults and the
// upgrade phase write faults. If the read phase shows write faults, KVM's
// async page faults are on (they fault pages in for writing; the VMM turns
// them off under the DSM, see KvmVm::DisableAsyncPageFaults): the reads then
// took the pages exclusive and the later writes needed no upgrade.
#include "guest/abi/page.h"
#include "guest/arch/arch.h"
#include "guest/drivers/pv_info.h"
#include "guest/kernel/boot_info.h"
#include "guest/kernel/clock.h"
#include "guest/kernel/mem.h"
#include "guest/kernel/percpu.h"
#include "guest/kernel/sched.h"
#include "guest/kernel/workloads/workload.h"

namespace ssivm::guest::workloads {
namespace {

struct Ctx {
  uint64_t pages;
  uint32_t home_node;
  uint8_t* buf;        // pages homed on home_node
  uint8_t* local_buf;  // pages homed on the reader's node
  uint64_t* local_ns;
  uint64_t* read_ns;
  uint64_t* upgrade_ns;
  uint64_t bad;  // pages that read back wrong
  // Node A's uffd fault counters around the three phases.
  uint64_t read_faults[4];
  uint64_t write_faults[4];

  void Free() {
    mem::Free(local_ns);
    mem::Free(read_ns);
    mem::Free(upgrade_ns);
    if (buf != nullptr) mem::FreePages(buf, pages);
    if (local_buf != nullptr) mem::FreePages(local_buf, pages);
  }
};

void SnapshotFaults(Ctx* c, int i) {
  c->read_faults[i] = ReadPvInfo(abi::kInfoReadFaults);
  c->write_faults[i] = ReadPvInfo(abi::kInfoWriteFaults);
}

uint64_t Pattern(uint64_t k) {
  return 0xd5a1'0000'0000'0000ull | k;
}

void Writer(void* p) {
  auto* c = static_cast<Ctx*>(p);
  c->buf = static_cast<uint8_t*>(mem::AllocPages(c->pages, c->home_node));
  if (c->buf == nullptr) return;
  for (uint64_t k = 0; k < c->pages; ++k) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(c->buf + k * abi::kPageSize), Pattern(k),
                     __ATOMIC_RELEASE);
  }
}

// The i-th page of n from both ends towards the middle (0, n-1, 1, n-2,
// ...): every step turns around, so the DSM's prefetch never sees a stream
// (of reads, or of writes it would upgrade ahead) and each access is one
// fault on its own.
uint64_t BothEndsIn(uint64_t i, uint64_t n) {
  return i % 2 == 0 ? i / 2 : n - 1 - i / 2;
}

void Reader(void* p) {
  auto* c = static_cast<Ctx*>(p);
  // Our own arrays first, so that their faults are not measured.
  for (uint64_t k = 0; k < c->pages; ++k) c->local_ns[k] = c->read_ns[k] = c->upgrade_ns[k] = 0;
  SnapshotFaults(c, 0);
  for (uint64_t k = 0; k < c->pages; ++k) {
    const uint64_t t0 = arch::ReadTsc();
    (void)__atomic_load_n(reinterpret_cast<uint64_t*>(c->local_buf + k * abi::kPageSize),
                          __ATOMIC_ACQUIRE);
    const uint64_t t1 = arch::ReadTsc();
    c->local_ns[k] = clock::TscToNs(t1 - t0);
  }
  SnapshotFaults(c, 1);
  for (uint64_t i = 0; i < c->pages; ++i) {
    const uint64_t k = BothEndsIn(i, c->pages);
    auto* word = reinterpret_cast<uint64_t*>(c->buf + k * abi::kPageSize);
    const uint64_t t0 = arch::ReadTsc();
    const uint64_t v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    const uint64_t t1 = arch::ReadTsc();
    c->read_ns[k] = clock::TscToNs(t1 - t0);
    if (v != Pattern(k)) ++c->bad;
  }
  SnapshotFaults(c, 2);
  for (uint64_t i = 0; i < c->pages; ++i) {
    const uint64_t k = BothEndsIn(i, c->pages);
    auto* word = reinterpret_cast<uint64_t*>(c->buf + k * abi::kPageSize);
    const uint64_t t0 = arch::ReadTsc();
    __atomic_store_n(word, ~Pattern(k), __ATOMIC_RELEASE);
    const uint64_t t1 = arch::ReadTsc();
    c->upgrade_ns[k] = clock::TscToNs(t1 - t0);
  }
  SnapshotFaults(c, 3);
}

// Sorts in place (heap sort: no recursion, no allocation).
void Sort(uint64_t* v, uint64_t n) {
  auto sift = [&](uint64_t i, uint64_t end) {
    for (uint64_t child; (child = 2 * i + 1) < end; i = child) {
      if (child + 1 < end && v[child + 1] > v[child]) ++child;
      if (v[i] >= v[child]) return;
      const uint64_t t = v[i];
      v[i] = v[child];
      v[child] = t;
    }
  };
  for (uint64_t i = n / 2; i-- > 0;) sift(i, n);
  for (uint64_t end = n; end-- > 1;) {
    const uint64_t t = v[0];
    v[0] = v[end];
    v[end] = t;
    sift(0, end);
  }
}

uint64_t Percentile(const uint64_t* sorted, uint64_t n, uint64_t pct) {
  const uint64_t i = n * pct / 100;
  return sorted[i < n ? i : n - 1];
}

// The first CPU on `node`, or -1.
int32_t CpuOn(uint32_t node) {
  for (uint32_t c = 0; c < Cpus(); ++c) {
    if (NodeOfCpu(c) == node) return static_cast<int32_t>(c);
  }
  return -1;
}

bool RunPinned(void (*fn)(void*), void* arg, int32_t cpu) {
  Thread* t = sched::Spawn(fn, arg, "dsmlat", cpu);
  if (t == nullptr) return false;
  sched::Join(t);
  return true;
}

}  // namespace

bool Dsmlat(const Args& args) {
  const Workload& w = *Find("dsmlat");
  uint64_t pages;
  if (!ArgU64(w, args, 0, 500, 10, 20000, &pages)) {
    return Result("dsmlat", false, "bad arguments");
  }
  // The reader runs on node A = the boot CPU's node, the pages live on the
  // node of the first CPU elsewhere.
  const uint32_t node_a = NodeOfCpu(0);
  int32_t cpu_b = -1;
  for (uint32_t c = 0; c < Cpus() && cpu_b < 0; ++c) {
    if (NodeOfCpu(c) != node_a) cpu_b = static_cast<int32_t>(c);
  }
  if (cpu_b < 0) return Result("dsmlat", false, "needs CPUs on two nodes");
  Ctx c{};
  c.pages = pages;
  c.home_node = NodeOfCpu(static_cast<uint32_t>(cpu_b));
  c.local_ns = static_cast<uint64_t*>(mem::Alloc(pages * sizeof(uint64_t)));
  c.read_ns = static_cast<uint64_t*>(mem::Alloc(pages * sizeof(uint64_t)));
  c.upgrade_ns = static_cast<uint64_t*>(mem::Alloc(pages * sizeof(uint64_t)));
  c.local_buf = static_cast<uint8_t*>(mem::AllocPages(pages, node_a));
  const bool ok = c.local_ns != nullptr && c.read_ns != nullptr && c.upgrade_ns != nullptr &&
                  c.local_buf != nullptr && RunPinned(Writer, &c, cpu_b) && c.buf != nullptr &&
                  RunPinned(Reader, &c, CpuOn(node_a));
  if (!ok) {
    c.Free();
    return Result("dsmlat", false, "out of memory or threads (pages=%lu)", pages);
  }
  const bool homed = mem::NodeOf(reinterpret_cast<uint64_t>(c.buf)) == c.home_node;
  Sort(c.local_ns, pages);
  Sort(c.read_ns, pages);
  Sort(c.upgrade_ns, pages);
  const bool pass = c.bad == 0 && homed && c.read_ns[pages / 2] > 0 && c.upgrade_ns[pages / 2] > 0;
  Result("dsmlat", pass,
         "pages=%lu reader_node=%u home_node=%u bad=%lu tsc_hz=%lu local_fault_median_ns=%lu "
         "local_fault_p99_ns=%lu read_fault_median_ns=%lu read_fault_p99_ns=%lu "
         "upgrade_median_ns=%lu upgrade_p99_ns=%lu local_phase_uffd_faults=%lu "
         "read_phase_uffd_read_faults=%lu read_phase_uffd_write_faults=%lu "
         "upgrade_phase_uffd_write_faults=%lu",
         pages, node_a, c.home_node, c.bad, clock::TscHz(), Percentile(c.local_ns, pages, 50),
         Percentile(c.local_ns, pages, 99), Percentile(c.read_ns, pages, 50),
         Percentile(c.read_ns, pages, 99), Percentile(c.upgrade_ns, pages, 50),
         Percentile(c.upgrade_ns, pages, 99),
         c.read_faults[1] - c.read_faults[0] + c.write_faults[1] - c.write_faults[0],
         c.read_faults[2] - c.read_faults[1], c.write_faults[2] - c.write_faults[1],
         c.write_faults[3] - c.write_faults[2]);
  c.Free();
  return pass;
}

}  // namespace ssivm::guest::workloads

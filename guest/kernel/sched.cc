#include "guest/kernel/sched.h"

#include "guest/abi/boot_info.h"
#include "guest/drivers/pv_ipi.h"
#include "guest/kernel/boot_info.h"
#include "guest/kernel/layout.h"
#include "guest/kernel/mem.h"
#include "guest/kernel/power.h"
#include "guest/kernel/vectors.h"
#include "guest/lib/format.h"

namespace ssivm::guest {
namespace {

constexpr size_t kStackPages = 4;  // 16 KiB per thread
constexpr uint64_t kLoadWindowTicks = 50;

// A thread's pages: its Thread, alone on the first (switches write its
// context; threads of other CPUs must not share it), then its stack.
constexpr size_t kThreadPages = 1 + kStackPages;

// One CPU's scheduler data: PerCpu (its pages split by writer), then its
// idle thread on a page of its own (its context is written at every switch
// away from idle, by this CPU only).
struct CpuBlock {
  PerCpu cpu;
  alignas(kPage) Thread idle;
};
static_assert(sizeof(CpuBlock) % kPage == 0);

SSIVM_READ_MOSTLY constinit uint32_t g_cpu_count = 0;
// CPU 0's, before the page allocator works (kernel .bss, homed on node 0,
// which boots it); the others' from their own nodes' memory (sched::Init).
constinit CpuBlock g_boot_cpu{};
// Thread structs, stacks and these: shared RAM, so other nodes see them.
constinit Atomic<uint32_t> g_next_id(1);
constinit Atomic<uint64_t> g_threads(0);
constinit IrqSpinLock g_join_lock;

void FormatName(char* out, size_t size, const char* name, uint32_t n) {
  FormatToBuffer(out, size, "%s/%u", name, n);
}

bool IsIdle(PerCpu* c, Thread* t) {
  return t == c->idle;
}

// Run queue operations: the caller holds c->rq_lock with interrupts off.
void PushLocked(PerCpu* c, Thread* t) {
  if (t->pinned == kAnyCpu) c->rq_unpinned.FetchAdd(1, MemoryOrder::kRelaxed);
  t->next = nullptr;
  if (c->rq_tail != nullptr) {
    c->rq_tail->next = t;
  } else {
    c->rq_head = t;
  }
  c->rq_tail = t;
  c->rq_len.FetchAdd(1, MemoryOrder::kRelaxed);
}

// The first thread allowed to run on `cpu`; unpinned only when stealing.
Thread* PopLocked(PerCpu* c, bool steal) {
  Thread* prev = nullptr;
  for (Thread* t = c->rq_head; t != nullptr; prev = t, t = t->next) {
    if (steal && t->pinned != kAnyCpu) continue;
    if (prev != nullptr) {
      prev->next = t->next;
    } else {
      c->rq_head = t->next;
    }
    if (c->rq_tail == t) c->rq_tail = prev;
    c->rq_len.FetchSub(1, MemoryOrder::kRelaxed);
    if (t->pinned == kAnyCpu) c->rq_unpinned.FetchSub(1, MemoryOrder::kRelaxed);
    t->next = nullptr;
    return t;
  }
  return nullptr;
}

// Makes `t` (context saved, not on any queue) runnable on `cpu`, and kicks
// that CPU if it is idle so it does not wait for its next tick.
void Enqueue(Thread* t, uint32_t cpu) {
  PerCpu* c = CpuData(cpu);
  t->state.Store(static_cast<uint32_t>(ThreadState::kRunnable), MemoryOrder::kRelease);
  c->rq_lock.LockNoIrq();
  PushLocked(c, t);
  c->rq_lock.UnlockNoIrq();
  if (cpu != CurrentCpuId() && __atomic_load_n(&c->current, __ATOMIC_ACQUIRE) == c->idle) {
    SendIpi(cpu, vec::kReschedIpi);
  }
}

uint32_t Load(PerCpu* c) {
  return c->rq_len.Load(MemoryOrder::kRelaxed) +
         (__atomic_load_n(&c->current, __ATOMIC_RELAXED) != c->idle ? 1 : 0);
}

// Where a new or woken thread should run: its pinned CPU, else an idle CPU
// (its last one first, for cache warmth), else the least loaded.
uint32_t ChooseCpu(Thread* t) {
  if (t->pinned != kAnyCpu) return static_cast<uint32_t>(t->pinned);
  if (t->cpu < g_cpu_count && Load(CpuData(t->cpu)) == 0) return t->cpu;
  uint32_t best = t->cpu < g_cpu_count ? t->cpu : 0;
  uint32_t best_load = Load(CpuData(best));
  for (uint32_t i = 0; i < g_cpu_count; ++i) {
    const uint32_t load = Load(CpuData(i));
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

Thread* TakeLocal(PerCpu* c) {
  if (c->rq_len.Load(MemoryOrder::kRelaxed) == 0) return nullptr;
  c->rq_lock.LockNoIrq();
  Thread* t = PopLocked(c, false);
  c->rq_lock.UnlockNoIrq();
  return t;
}

// Load balancing, pull style: an idle CPU takes an unpinned thread from the
// CPU with the longest queue that holds one.
// A busy CPU only takes from a queue of two or more (else it would just swap).
// Queues without unpinned threads are skipped on rq_unpinned alone, so the
// scan reads no run queue page that pinned threads keep changing.
Thread* Steal(PerCpu* self) {
  PerCpu* victim = nullptr;
  uint32_t longest = IsIdle(self, self->current) ? 0 : 1;
  for (uint32_t i = 0; i < g_cpu_count; ++i) {
    PerCpu* c = CpuData(i);
    if (c == self || c->rq_unpinned.Load(MemoryOrder::kRelaxed) == 0) continue;
    const uint32_t len = c->rq_len.Load(MemoryOrder::kRelaxed);
    if (len > longest) {
      victim = c;
      longest = len;
    }
  }
  if (victim == nullptr) return nullptr;
  victim->rq_lock.LockNoIrq();
  Thread* t = PopLocked(victim, true);
  victim->rq_lock.UnlockNoIrq();
  return t;
}

// Switches this CPU from its current thread to `next` (not null, not
// current) by rewriting the interrupt frame.
void SwitchTo(arch::Frame* frame, PerCpu* c, Thread* next) {
  Thread* prev = c->current;
  prev->context = *frame;
  const bool requeue = !IsIdle(c, prev) && prev->state.Load(MemoryOrder::kRelaxed) ==
                                               static_cast<uint32_t>(ThreadState::kRunning);
  // From here another CPU may run or free prev (Wake, Join wait for this).
  prev->on_cpu.Store(0, MemoryOrder::kRelease);
  if (requeue) Enqueue(prev, c->id);
  next->state.Store(static_cast<uint32_t>(ThreadState::kRunning), MemoryOrder::kRelaxed);
  next->on_cpu.Store(1, MemoryOrder::kRelaxed);
  next->cpu = c->id;
  __atomic_store_n(&c->current, next, __ATOMIC_RELEASE);
  ThisSlot()->current = next;
  *frame = next->context;
  ++c->counters.switches;
}

// The scheduling decision. `must_leave`: the current thread blocked or died.
void Reschedule(arch::Frame* frame, bool must_leave) {
  PerCpu* c = ThisCpu();
  Thread* next = TakeLocal(c);
  if (next == nullptr) next = Steal(c);
  if (next == nullptr) {
    if (!must_leave || IsIdle(c, c->current)) return;
    next = c->idle;
  }
  SwitchTo(frame, c, next);
}

[[noreturn]] void ThreadMain(Thread* t) {
  arch::IrqEnable();
  t->fn(t->arg);
  sched::Exit();
}

}  // namespace

SSIVM_READ_MOSTLY constinit PerCpu* g_cpu_data[abi::kMaxVcpus] = {&g_boot_cpu.cpu};

uint32_t CpuCount() {
  return g_cpu_count;
}

namespace sched {

void Init(uint32_t cpus) {
  for (uint32_t cpu = 1; cpu < cpus; ++cpu) {
    void* p = mem::AllocPages(sizeof(CpuBlock) / kPage, NodeOfCpu(cpu));
    if (p == nullptr) Panic("no memory for cpu %u's data", cpu);
    __builtin_memset(p, 0, sizeof(CpuBlock));
    g_cpu_data[cpu] = &static_cast<CpuBlock*>(p)->cpu;
  }
  g_cpu_count = cpus;
}

void InitCpu(uint32_t cpu) {
  PerCpu* c = CpuData(cpu);
  // PerCpu is CpuBlock's first member.
  Thread* idle = &reinterpret_cast<CpuBlock*>(c)->idle;
  idle->state.Store(static_cast<uint32_t>(ThreadState::kRunning), MemoryOrder::kRelaxed);
  idle->on_cpu.Store(1, MemoryOrder::kRelaxed);
  idle->cpu = cpu;
  idle->pinned = static_cast<int32_t>(cpu);
  FormatName(idle->name, sizeof(idle->name), "idle", cpu);
  c->idle = idle;
  c->current = idle;
  ThisSlot()->current = idle;
}

void IdleLoop() {
  for (;;) {
    arch::IrqDisable();
    // Only the local queue: stealing is left to the tick, so an idle CPU
    // never spins on queues of threads pinned elsewhere.
    if (ThisCpu()->rq_len.Load(MemoryOrder::kRelaxed) != 0) {
      Yield();  // interrupts stay off: the switch saves and restores them
      arch::IrqEnable();
    } else {
      arch::EnableAndHalt();  // the tick or a resched IPI switches from here
    }
  }
}

Thread* Spawn(void (*fn)(void*), void* arg, const char* name, int32_t pinned) {
  if (pinned != kAnyCpu && static_cast<uint32_t>(pinned) >= g_cpu_count) {
    pinned = static_cast<int32_t>(static_cast<uint32_t>(pinned) % g_cpu_count);
  }
  // From the memory of the node that will run it, where that is known.
  const uint32_t node =
      pinned != kAnyCpu ? NodeOfCpu(static_cast<uint32_t>(pinned)) : mem::kLocalNode;
  auto* t = static_cast<Thread*>(mem::AllocPages(kThreadPages, node));
  if (t == nullptr) return nullptr;
  __builtin_memset(static_cast<void*>(t), 0, sizeof(Thread));
  t->stack = reinterpret_cast<uint8_t*>(t) + kPage;
  t->stack_pages = kStackPages;
  t->fn = fn;
  t->arg = arg;
  t->pinned = pinned;
  t->cpu = CurrentCpuId();
  t->id = g_next_id.FetchAdd(1, MemoryOrder::kRelaxed);
  FormatName(t->name, sizeof(t->name), name, t->id);
  // Enters ThreadMain(t) as if called: RSP = 8 mod 16 with a zero return
  // address, so a stray return faults at 0.
  const uint64_t top = reinterpret_cast<uint64_t>(t->stack) + kStackPages * abi::kPageSize;
  *reinterpret_cast<uint64_t*>(top - 16) = 0;
  t->context.rip = reinterpret_cast<uint64_t>(&ThreadMain);
  t->context.rdi = reinterpret_cast<uint64_t>(t);
  t->context.cs = abi::kSelKernelCode;
  t->context.ss = abi::kSelKernelData;
  t->context.rsp = top - 16;
  t->context.rflags = arch::kRflagsReserved;  // interrupts off until ThreadMain
  g_threads.FetchAdd(1, MemoryOrder::kRelaxed);
  const bool was = arch::IrqSave();
  Enqueue(t, ChooseCpu(t));
  arch::IrqRestore(was);
  return t;
}

void Join(Thread* t) {
  Thread* self = CurrentThread();
  const bool was = g_join_lock.Lock();
  if (t->done.Load(MemoryOrder::kAcquire) == 0) {
    t->joiner = self;
    self->state.Store(static_cast<uint32_t>(ThreadState::kBlocked), MemoryOrder::kRelaxed);
    g_join_lock.UnlockNoIrq();
    Block();
    arch::IrqRestore(was);
  } else {
    g_join_lock.Unlock(was);
  }
  // It has finished; wait until its CPU has switched away from its stack.
  while (t->on_cpu.Load(MemoryOrder::kAcquire) != 0) arch::Pause();
  mem::FreePages(t, kThreadPages);
  g_threads.FetchSub(1, MemoryOrder::kRelaxed);
}

void Exit() {
  arch::IrqDisable();
  Thread* self = CurrentThread();
  self->state.Store(static_cast<uint32_t>(ThreadState::kDead), MemoryOrder::kRelaxed);
  g_join_lock.LockNoIrq();
  self->done.Store(1, MemoryOrder::kRelease);
  Thread* joiner = self->joiner;
  g_join_lock.UnlockNoIrq();
  if (joiner != nullptr) Wake(joiner);
  arch::SoftTrap();
  Panic("thread %s ran after exit on cpu %u", self->name, CurrentCpuId());
}

// Interrupts off around the trap: the switch must not be interrupted on its
// IST stack, whether or not the host clears vIF when it delivers #BP.
void Yield() {
  const bool was = arch::IrqSave();
  arch::SoftTrap();
  arch::IrqRestore(was);
}

void Block() {
  arch::SoftTrap();
}

void Wake(Thread* t) {
  auto expected = static_cast<uint32_t>(ThreadState::kBlocked);
  if (!t->state.CompareExchange(expected, static_cast<uint32_t>(ThreadState::kRunnable),
                                MemoryOrder::kAcqRel)) {
    return;
  }
  // It may still be on its way out of its CPU (interrupts off there: short).
  while (t->on_cpu.Load(MemoryOrder::kAcquire) != 0) arch::Pause();
  const bool was = arch::IrqSave();
  Enqueue(t, ChooseCpu(t));
  arch::IrqRestore(was);
}

void OnTick(arch::Frame* frame) {
  PerCpu* c = ThisCpu();
  CpuCounters& n = c->counters;
  ++n.ticks;
  if (!IsIdle(c, c->current)) ++n.busy_ticks;
  if (n.ticks % kLoadWindowTicks == 0) {
    const uint64_t busy = n.busy_ticks - n.window_start_busy;
    n.window_start_busy = n.busy_ticks;
    c->load_pct.Store(static_cast<uint32_t>(busy * 100 / kLoadWindowTicks), MemoryOrder::kRelaxed);
  }
  Reschedule(frame, false);
}

void OnSchedule(arch::Frame* frame) {
  const uint32_t state = ThisCpu()->current->state.Load(MemoryOrder::kRelaxed);
  Reschedule(frame, state != static_cast<uint32_t>(ThreadState::kRunning));
}

void OnReschedIpi(arch::Frame* frame) {
  PerCpu* c = ThisCpu();
  if (IsIdle(c, c->current)) Reschedule(frame, false);
}

uint64_t ThreadCount() {
  return g_threads.Load(MemoryOrder::kRelaxed);
}

}  // namespace sched
}  // namespace ssivm::guest

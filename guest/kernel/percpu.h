// Per-CPU data in two parts. SlotLocal sits in the vCPU's node-private slot
// at abi::kSlotPerCpu, reached through GS (arch::InitCpu points GS at the
// slot): what only this vCPU reads, with single-instruction access. PerCpu
// (run queue, current thread, statistics) is read and written by other CPUs,
// possibly on other nodes, so it lives in coherent memory: CPU 0's in the
// kernel's .bss, every other CPU's on pages the boot CPU takes from the pool
// of the node that runs it (sched::Init), so each is homed on its node. The
// DSM keeps whole 4 KiB pages coherent, so PerCpu is split by who writes
// what, a page each (kernel/layout.h): CPUs sharing a page would pass it
// between their nodes at every tick (an idle 2-node guest moved one page ~100
// times a second per node).
#ifndef SSIVM_GUEST_KERNEL_PERCPU_H_
#define SSIVM_GUEST_KERNEL_PERCPU_H_

#include <stddef.h>
#include <stdint.h>

#include "guest/abi/boot_info.h"
#include "guest/arch/slot.h"
#include "guest/kernel/irq_lock.h"
#include "guest/kernel/layout.h"
#include "guest/lib/atomic.h"

namespace ssivm::guest {

struct Thread;

struct SlotLocal {
  uint64_t slot_base;  // first: arch::InitCpu's self pointer
  Thread* current;     // copy of PerCpu::current, for CurrentThread()
  uint32_t id;
};

// What a CPU writes at every tick, switch or interrupt, on a page of its
// own: on the page other CPUs read at every tick (the run queue's length,
// when they look for work to steal), each tick would take that page away
// from every reader's node and each reader's next tick would pull it back
// (an idle 2-node guest: ~210 faults a second on each node).
struct alignas(kPage) CpuCounters {
  uint64_t ticks;
  uint64_t busy_ticks;  // ticks that found a thread other than idle running
  uint64_t window_start_busy;
  uint64_t switches;
  uint64_t irqs;
  uint64_t resched_ipis;  // taken; other CPUs read it (workloads/ipi.cc)
};

struct alignas(kPage) PerCpu {
  // Its own page: what a switch writes and enqueuers (any CPU) read and
  // write.
  Thread* current;
  uint32_t id;
  uint32_t apic_id;
  Atomic<uint32_t> online;
  Thread* idle;
  // Run queue: runnable threads waiting for this CPU (FIFO).
  IrqSpinLock rq_lock;
  Thread* rq_head;
  Thread* rq_tail;
  Atomic<uint32_t> rq_len;
  Atomic<uint32_t> load_pct;  // busy share of the last window (written once a window)
  // Unpinned threads in the run queue, on a page of its own: every CPU reads
  // it at every reschedule that finds its own queue empty (Steal), and only
  // queueing or taking an unpinned thread writes it, so pinned threads come
  // and go without taking it from the readers.
  alignas(kPage) Atomic<uint32_t> rq_unpinned;
  // Written by this CPU's interrupt handlers only.
  CpuCounters counters;
};
static_assert(sizeof(SlotLocal) <= abi::kSlotIst1Top - 0x1000 - abi::kSlotPerCpu);

// Set at boot, read-mostly (sched.cc; constant-initialized there, which the
// check cannot see from a declaration).
extern PerCpu* g_cpu_data[abi::kMaxVcpus];  // NOLINT(bugprone-dynamic-static-initializers)

inline PerCpu* CpuData(uint32_t cpu) {
  return g_cpu_data[cpu];
}

inline SlotLocal* ThisSlot() {
  return reinterpret_cast<SlotLocal*>(arch::CurrentSlotBase() + abi::kSlotPerCpu);
}

// One GS-relative load each, so a thread migrated right after still gets a
// consistent (if stale) answer.
inline Thread* CurrentThread() {
  Thread* t;
  asm volatile("mov %%gs:%c1, %0" : "=r"(t) : "i"(abi::kSlotPerCpu + offsetof(SlotLocal, current)));
  return t;
}

inline uint32_t CurrentCpuId() {
  uint32_t id;
  asm volatile("movl %%gs:%c1, %0" : "=r"(id) : "i"(abi::kSlotPerCpu + offsetof(SlotLocal, id)));
  return id;
}

// This CPU's data. Stable only with interrupts disabled (a thread may migrate).
inline PerCpu* ThisCpu() {
  return CpuData(CurrentCpuId());
}

uint32_t CpuCount();  // sched.cc

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_PERCPU_H_

// Kernel threads and the scheduler.
//
// Every CPU has a FIFO run queue and an idle thread (its boot context).
// All switches happen in the interrupt path on the CPU's IST stack: the
// interrupted thread's Frame is saved into its Thread and the next thread's
// Frame is copied over it, so a preempted thread and one that blocked look
// the same. A thread that wants to switch (yield, block, exit) raises the
// software vector vec::kSchedule. The timer tick preempts round-robin when
// others wait; an idle CPU steals an unpinned thread from the busiest queue,
// and new or woken threads go to an idle CPU when there is one (woken with an
// IPI).
#ifndef SSIVM_GUEST_KERNEL_SCHED_H_
#define SSIVM_GUEST_KERNEL_SCHED_H_

#include <stddef.h>
#include <stdint.h>

#include "guest/arch/frame.h"
#include "guest/kernel/percpu.h"
#include "guest/lib/atomic.h"

namespace ssivm::guest {

enum class ThreadState : uint32_t { kRunnable, kRunning, kBlocked, kDead };

inline constexpr int32_t kAnyCpu = -1;

struct Thread {
  arch::Frame context;  // valid while not running
  Atomic<uint32_t> state;
  Atomic<uint32_t> on_cpu;  // until its CPU has saved its context
  Atomic<uint32_t> done;    // the function returned
  uint32_t cpu;             // where it runs or last ran
  int32_t pinned;           // kAnyCpu or a CPU it never leaves
  uint32_t id;
  void (*fn)(void*);
  void* arg;
  Thread* next;    // run queue or wait queue link
  Thread* joiner;  // blocked in Join on this thread
  uint8_t* stack;
  size_t stack_pages;
  char name[24];
};

namespace sched {

// Boot CPU, once memory works: `cpus` CPUs exist.
void Init(uint32_t cpus);
// Each CPU: its boot context becomes its idle thread.
void InitCpu(uint32_t cpu);
// Each CPU: runs the idle loop forever (interrupts on).
[[noreturn]] void IdleLoop();

// Creates a runnable thread; nullptr if out of memory. `pinned` = kAnyCpu to
// let the scheduler place and move it.
Thread* Spawn(void (*fn)(void*), void* arg, const char* name, int32_t pinned = kAnyCpu);
// Waits for `t` to finish and frees it.
void Join(Thread* t);
[[noreturn]] void Exit();
void Yield();
// Current thread only, interrupts disabled, state already kBlocked (and the
// thread recorded where a waker finds it): switches away until woken.
void Block();
// kBlocked -> runnable on some CPU; no-op for a thread not blocked.
void Wake(Thread* t);

// Interrupt path (interrupts.cc).
void OnTick(arch::Frame* frame);
void OnSchedule(arch::Frame* frame);
void OnReschedIpi(arch::Frame* frame);

uint64_t ThreadCount();

}  // namespace sched
}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_SCHED_H_

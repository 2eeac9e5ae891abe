// Blocking synchronisation for kernel threads: wait queues and a mutex.
// Waiters sleep (the CPU halts or runs other threads) instead of spinning:
// with more vCPUs than host cores, a spinning waiter steals the host CPU
// from the thread it waits for.
#ifndef SSIVM_GUEST_KERNEL_SYNC_H_
#define SSIVM_GUEST_KERNEL_SYNC_H_

#include "guest/kernel/irq_lock.h"
#include "guest/kernel/sched.h"

namespace ssivm::guest {

class WaitQueue {
 public:
  constexpr WaitQueue() = default;

  // Sleeps until cond() holds; cond is evaluated under the queue's lock,
  // which every waker takes, so no wake-up is lost between check and sleep.
  template <typename Cond>
  void WaitUntil(Cond cond) {
    for (;;) {
      const bool was = lock_.Lock();
      if (cond()) {
        lock_.Unlock(was);
        return;
      }
      Thread* self = CurrentThread();
      self->state.Store(static_cast<uint32_t>(ThreadState::kBlocked), MemoryOrder::kRelaxed);
      self->next = nullptr;
      if (tail_ != nullptr) {
        tail_->next = self;
      } else {
        head_ = self;
      }
      tail_ = self;
      lock_.UnlockNoIrq();
      sched::Block();
      arch::IrqRestore(was);
    }
  }

  void WakeOne() { Wake(false); }
  void WakeAll() { Wake(true); }

 private:
  void Wake(bool all) {
    const bool was = lock_.Lock();
    Thread* list = head_;
    if (!all && list != nullptr) {
      head_ = list->next;
      if (head_ == nullptr) tail_ = nullptr;
      list->next = nullptr;
    } else {
      head_ = tail_ = nullptr;
    }
    lock_.Unlock(was);
    while (list != nullptr) {
      Thread* next = list->next;
      sched::Wake(list);
      list = next;
    }
  }

  IrqSpinLock lock_;
  Thread* head_ = nullptr;
  Thread* tail_ = nullptr;
};

// Three states (0 free, 1 locked, 2 locked and maybe waited for), short
// spin, then sleep; Unlock touches the wait queue only in state 2. Not FIFO
// on purpose: a FIFO hand-off to a vCPU the host has descheduled stalls
// every other waiter.
class Mutex {
 public:
  constexpr Mutex() = default;

  void Lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (TryLock()) return;
      arch::Pause();
    }
    // Taking it in state 2 may cost one needless wake-up later; never a lost one.
    while (state_.Exchange(2, MemoryOrder::kAcquire) != 0) {
      waiters_.WaitUntil([this] { return state_.Load(MemoryOrder::kRelaxed) != 2; });
    }
  }
  bool TryLock() {
    uint32_t expected = 0;
    return state_.Load(MemoryOrder::kRelaxed) == 0 &&
           state_.CompareExchange(expected, 1, MemoryOrder::kAcquire);
  }
  void Unlock() {
    if (state_.Exchange(0, MemoryOrder::kRelease) == 2) waiters_.WakeOne();
  }

 private:
  static constexpr int kSpins = 200;
  Atomic<uint32_t> state_;
  WaitQueue waiters_;
};

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_SYNC_H_

// Spinlock that also disables interrupts: safe against this CPU's interrupt
// handlers, and its holder cannot be preempted. Test-and-test-and-set, not
// FIFO: with more vCPUs than host cores, a ticket lock hands the lock to
// waiters the host has descheduled, and every other waiter then spins for a
// whole host time slice (lock convoys that stalled the counter workload).
#ifndef SSIVM_GUEST_KERNEL_IRQ_LOCK_H_
#define SSIVM_GUEST_KERNEL_IRQ_LOCK_H_

#include "guest/arch/arch.h"
#include "guest/lib/atomic.h"

namespace ssivm::guest {

class IrqSpinLock {
 public:
  constexpr IrqSpinLock() = default;
  // Returns the interrupt state to pass to Unlock.
  [[nodiscard]] bool Lock() {
    const bool was = arch::IrqSave();
    LockNoIrq();
    return was;
  }
  void Unlock(bool was_enabled) {
    UnlockNoIrq();
    arch::IrqRestore(was_enabled);
  }
  // For callers that already run with interrupts disabled.
  void LockNoIrq() {
    while (locked_.Exchange(1, MemoryOrder::kAcquire) != 0) {
      while (locked_.Load(MemoryOrder::kRelaxed) != 0) arch::Pause();
    }
  }
  void UnlockNoIrq() { locked_.Store(0, MemoryOrder::kRelease); }

 private:
  Atomic<uint32_t> locked_;
};

class IrqLockGuard {
 public:
  explicit IrqLockGuard(IrqSpinLock& lock) : lock_(lock), was_(lock.Lock()) {}
  ~IrqLockGuard() { lock_.Unlock(was_); }
  IrqLockGuard(const IrqLockGuard&) = delete;
  IrqLockGuard& operator=(const IrqLockGuard&) = delete;

 private:
  IrqSpinLock& lock_;
  bool was_;
};

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_IRQ_LOCK_H_

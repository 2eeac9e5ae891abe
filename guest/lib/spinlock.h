// Ticket spinlock: FIFO, so no vCPU starves, which matters when vCPUs on
// different nodes see the lock's page at very different latencies.
#ifndef SSIVM_GUEST_LIB_SPINLOCK_H_
#define SSIVM_GUEST_LIB_SPINLOCK_H_

#include <stdint.h>

#include "guest/arch/arch.h"
#include "guest/lib/atomic.h"

namespace ssivm::guest {

// Does not touch the interrupt flag: today nothing takes a lock from an
// interrupt handler. An irq-saving variant comes with interrupt handlers.
class TicketLock {
 public:
  constexpr TicketLock() = default;
  TicketLock(const TicketLock&) = delete;
  TicketLock& operator=(const TicketLock&) = delete;

  void Lock() {
    const uint32_t ticket = next_.FetchAdd(1, MemoryOrder::kRelaxed);
    while (serving_.Load(MemoryOrder::kAcquire) != ticket) arch::Pause();
  }

  void Unlock() {
    // Only the holder writes serving_, so a plain read-increment is enough.
    serving_.Store(serving_.Load(MemoryOrder::kRelaxed) + 1, MemoryOrder::kRelease);
  }

 private:
  Atomic<uint32_t> next_;
  Atomic<uint32_t> serving_;
};

template <typename Lock>
class LockGuard {
 public:
  explicit LockGuard(Lock& lock) : lock_(lock) { lock_.Lock(); }
  ~LockGuard() { lock_.Unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lock& lock_;
};

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_LIB_SPINLOCK_H_

// Atomics over the compiler's __atomic builtins (no libstdc++ <atomic>).
// Every operation names its memory order: the DSM gives sequential
// consistency, but hardware KVM gives x86-TSO, and the code must hold on both.
#ifndef SSIVM_GUEST_LIB_ATOMIC_H_
#define SSIVM_GUEST_LIB_ATOMIC_H_

namespace ssivm::guest {

enum class MemoryOrder : int {
  kRelaxed = __ATOMIC_RELAXED,
  kAcquire = __ATOMIC_ACQUIRE,
  kRelease = __ATOMIC_RELEASE,
  kAcqRel = __ATOMIC_ACQ_REL,
  kSeqCst = __ATOMIC_SEQ_CST,
};

template <typename T>
class Atomic {
 public:
  constexpr Atomic() : value_() {}
  constexpr explicit Atomic(T value) : value_(value) {}
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T Load(MemoryOrder order) const { return __atomic_load_n(&value_, Int(order)); }
  void Store(T value, MemoryOrder order) { __atomic_store_n(&value_, value, Int(order)); }
  T Exchange(T value, MemoryOrder order) { return __atomic_exchange_n(&value_, value, Int(order)); }
  T FetchAdd(T delta, MemoryOrder order) { return __atomic_fetch_add(&value_, delta, Int(order)); }
  T FetchSub(T delta, MemoryOrder order) { return __atomic_fetch_sub(&value_, delta, Int(order)); }
  // On failure, `expected` receives the current value.
  bool CompareExchange(T& expected, T desired, MemoryOrder order) {
    return __atomic_compare_exchange_n(&value_, &expected, desired, false, Int(order),
                                       FailureOrder(order));
  }

 private:
  static constexpr int Int(MemoryOrder order) { return static_cast<int>(order); }
  // A failed CAS only loads: it may not carry release semantics.
  static constexpr int FailureOrder(MemoryOrder order) {
    return order == MemoryOrder::kAcqRel || order == MemoryOrder::kRelease
               ? (order == MemoryOrder::kAcqRel ? __ATOMIC_ACQUIRE : __ATOMIC_RELAXED)
               : Int(order);
  }

  T value_;
};

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_LIB_ATOMIC_H_

// Workload sizes by runtime. Inside the emulated hardware-KVM machine every
// instruction is emulated (~100 times slower; DSM messages cross emulated
// loopback or veth links), so VM tests size their guest workloads through
// the workloads' arguments there, and give them more time. The checks are
// the same: the workloads verify their own results either way.
#ifndef SSIVM_TESTS_SUPPORT_EMULATION_H_
#define SSIVM_TESTS_SUPPORT_EMULATION_H_

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace ssivm::testing {

// True when this test runs inside the emulated machine.
inline bool Emulated() {
  const char* v = std::getenv("SSIVM_HWKVM_INSIDE");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// `kvm` on a host's KVM, `emulated` inside the emulated machine.
template <typename T>
T ForRuntime(T kvm, T emulated) {
  return Emulated() ? emulated : kvm;
}

// A generous bound for one VM run.
inline std::chrono::seconds VmTimeout(std::chrono::seconds kvm) {
  return Emulated() ? kvm * 4 : kvm;
}

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_EMULATION_H_

// Internal to guest/arch: the operations each back end provides.
#ifndef SSIVM_GUEST_ARCH_BACKEND_H_
#define SSIVM_GUEST_ARCH_BACKEND_H_

#include <stdint.h>

#include "guest/arch/arch.h"

namespace ssivm::guest::arch {

struct Backend {
  Kind kind;
  const char* halt_method;  // arch::HaltMethod()
  void (*irq_disable)();
  void (*irq_enable)();
  bool (*irqs_enabled)();
  void (*halt)();
  void (*enable_and_halt)();
  uint64_t (*read_cr2)();
  void (*cpuid)(uint32_t leaf, uint32_t subleaf, CpuidRegs* regs);
  uint64_t (*rdmsr)(uint32_t msr);
  void (*wrmsr)(uint32_t msr, uint64_t value);
};

extern const Backend kPvmBackend;       // arch_pvm.cc
extern const Backend kHardwareBackend;  // arch_hw.cc: halts with HLT
// arch_hw.cc: halts with an OUT to abi::kIdlePort, for VMMs where HLT runs
// in the guest (the vCPU would spin there, its host thread never sleeping).
extern const Backend kHardwareIdlePortBackend;

}  // namespace ssivm::guest::arch

#endif  // SSIVM_GUEST_ARCH_BACKEND_H_

// A one-vCPU KVM VM with 1 MiB of RAM whose vCPU starts in 16-bit real mode
// at `code_gpa`, running `code` (hardware KVM only): the smallest real guest,
// for tests of vCPU state (capture, restore, pause).
#ifndef SSIVM_TESTS_SUPPORT_REAL_MODE_VM_H_
#define SSIVM_TESTS_SUPPORT_REAL_MODE_VM_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>

#include "common/mapping.h"
#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/kvm/kvm_vm.h"

namespace ssivm::testing {

struct RealModeVm {
  RealModeVm(const KvmSystem& sys, std::span<const uint8_t> code, uint64_t code_gpa)
      : vm(sys), ram(Mapping::Anonymous(1 << 20, "test RAM")) {
    vm.CreateIrqchip();
    std::copy(code.begin(), code.end(), ram.data() + code_gpa);
    vm.SetMemorySlot(0, 0, ram.size(), ram.data());
    vcpu = std::make_unique<KvmVcpu>(vm, 0);
    kvm_sregs sregs = vcpu->GetSregs();
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    vcpu->SetSregs(sregs);
    kvm_regs regs = vcpu->GetRegs();
    regs.rip = code_gpa;
    regs.rflags = 2;
    vcpu->SetRegs(regs);
  }

  KvmVm vm;
  Mapping ram;
  std::unique_ptr<KvmVcpu> vcpu;
};

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_REAL_MODE_VM_H_

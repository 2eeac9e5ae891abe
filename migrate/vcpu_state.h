// Everything that makes one vCPU what it is, as migration moves it between
// nodes: KVM's register state plus the vCPU's node-private slot (vIF cell,
// TSS, per-CPU data, stacks; ARCHITECTURE.md "Guest-physical memory").
#ifndef SSIVM_MIGRATE_VCPU_STATE_H_
#define SSIVM_MIGRATE_VCPU_STATE_H_

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "hypervisor/kvm/kvm_abi_fix.h"

namespace ssivm::migrate {

struct VcpuState {
  uint32_t vcpu = 0;
  kvm_regs regs{};
  kvm_sregs sregs{};
  // XSAVE where KVM offers it (it includes the legacy FPU/SSE state), else FPU.
  std::optional<kvmabi::Xsave> xsave;
  std::optional<kvm_fpu> fpu;
  std::optional<kvm_xcrs> xcrs;
  std::vector<std::pair<uint32_t, uint64_t>> msrs;  // index, value
  kvm_lapic_state lapic{};
  kvm_vcpu_events events{};
  uint32_t mp_state = 0;
  std::vector<uint8_t> private_slot;  // empty: none (a Linux guest has none)
};

}  // namespace ssivm::migrate

#endif  // SSIVM_MIGRATE_VCPU_STATE_H_

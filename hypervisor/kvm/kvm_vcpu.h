// One KVM vCPU: its fd, its kvm_run area and register access.
#ifndef SSIVM_HYPERVISOR_KVM_KVM_VCPU_H_
#define SSIVM_HYPERVISOR_KVM_KVM_VCPU_H_

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/mapping.h"
#include "common/unique_fd.h"
#include "hypervisor/kvm/kvm_abi_fix.h"
#include "hypervisor/kvm/kvm_vm.h"

namespace ssivm {

class KvmVcpu {
 public:
  KvmVcpu(const KvmVm& vm, uint32_t id);

  uint32_t id() const { return id_; }
  int fd() const { return fd_.get(); }
  kvm_run* run() const { return reinterpret_cast<kvm_run*>(run_.data()); }

  kvm_regs GetRegs() const;
  void SetRegs(const kvm_regs& r);
  kvm_sregs GetSregs() const;
  void SetSregs(const kvm_sregs& s);
  void SetCpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // The vCPU's TSC frequency (KVM_GET_TSC_KHZ); 0 if KVM cannot tell.
  uint32_t TscKhz() const;
  uint32_t GetMpState() const;
  void SetMpState(uint32_t state);
  void SetMsrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs);
  // Host-initiated read; nullopt if KVM does not know the MSR.
  std::optional<uint64_t> GetMsr(uint32_t index) const;
  // The MSRs of `indices` that KVM knows, with their values, in that order.
  std::vector<std::pair<uint32_t, uint64_t>> GetMsrs(const std::vector<uint32_t>& indices) const;

  // The rest of a vCPU's state, as migration captures and restores it.
  kvm_fpu GetFpu() const;
  void SetFpu(const kvm_fpu& f);
  kvmabi::Xsave GetXsave() const;  // needs KVM_CAP_XSAVE
  void SetXsave(const kvmabi::Xsave& x);
  kvm_xcrs GetXcrs() const;  // needs KVM_CAP_XCRS
  void SetXcrs(const kvm_xcrs& x);
  kvm_lapic_state GetLapic() const;  // needs the in-kernel irqchip
  void SetLapic(const kvm_lapic_state& l);
  kvm_vcpu_events GetEvents() const;
  void SetEvents(const kvm_vcpu_events& e);

  // One KVM_RUN. Returns 0, or the errno (EINTR when kicked by a signal).
  int Run();

 private:
  uint32_t id_;
  UniqueFd fd_;
  Mapping run_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_KVM_KVM_VCPU_H_

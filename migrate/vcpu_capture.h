// Captures a stopped vCPU's state on its node and restores it into the vCPU
// of the same id on another (the interface the migration protocol builds
// on). The vCPU's thread must be out of KVM_RUN (kicked) while either runs.
#ifndef SSIVM_MIGRATE_VCPU_CAPTURE_H_
#define SSIVM_MIGRATE_VCPU_CAPTURE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "migrate/vcpu_state.h"

namespace ssivm::migrate {

// What this host's KVM can capture beyond the mandatory state.
struct CaptureFeatures {
  bool xsave = false;
  bool xcrs = false;
  std::vector<uint32_t> msrs;  // the MSR indices to carry
};

// Asks KVM (KVM_CAP_XSAVE, KVM_CAP_XCRS) and picks the MSRs a guest's
// kernel programs itself (syscall entry, GS base, TSC, PAT, ...) plus
// `extra` (e.g. PVM's MSRs), keeping those KVM knows on `probe`.
CaptureFeatures DetectCaptureFeatures(const KvmSystem& sys, const KvmVcpu& probe,
                                      const std::vector<uint32_t>& extra = {});

// Completes what the vCPU's last exit left pending (an OUT, an MMIO read, a
// string I/O step: KVM finishes them on the next KVM_RUN, and RIP only then
// moves past the instruction) by one KVM_RUN with immediate_exit set, which
// returns at once. Call after the vCPU's thread is out of KVM_RUN, before
// CaptureVcpu; without it a captured vCPU would repeat its last I/O.
void CompletePendingExit(KvmVcpu& vcpu);

// `slot`: the vCPU's node-private slot as the guest left it (may be empty).
VcpuState CaptureVcpu(const KvmVcpu& vcpu, const CaptureFeatures& f, std::span<const uint8_t> slot);

// Restores everything but the private slot (the caller copies it into guest
// memory). Throws Error naming the part KVM refused, or a vCPU id mismatch.
void RestoreVcpu(KvmVcpu& vcpu, const VcpuState& s);

}  // namespace ssivm::migrate

#endif  // SSIVM_MIGRATE_VCPU_CAPTURE_H_

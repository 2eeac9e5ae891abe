// Initial vCPU state: directly in 64-bit mode at the kernel entry.
#ifndef SSIVM_HYPERVISOR_X86_CPU_SETUP_H_
#define SSIVM_HYPERVISOR_X86_CPU_SETUP_H_

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace ssivm {

struct BootCpuState {
  uint32_t vcpu;
  uint64_t entry;
  uint64_t cr3;
  uint16_t gdt_limit;
  uint64_t boot_params_gpa;
};

// Long mode, paging on, flat segments, this vCPU's TSS loaded, IDT at the
// abi address. `base` is the vCPU's current SREGS (keeps fields KVM owns).
kvm_sregs LongModeSregs(const kvm_sregs& base, const BootCpuState& s);
// RIP = entry, RSP = boot stack top, RSI = boot_params, RDI = vCPU index.
kvm_regs LongModeRegs(const BootCpuState& s);

// The CPUID table a vCPU gets: what KVM supports, with this vCPU's APIC id.
// KVM's own hypervisor leaves stay, so Linux guests find kvmclock. With a
// known `tsc_khz` the timing leaf 0x40000010 tells the guest its TSC and
// LAPIC-bus frequencies (EAX, EBX in kHz; KVM's LAPIC bus runs at 1 GHz),
// so it need not calibrate (on a loaded host calibration is off by 15%).
// Without `async_page_faults` KVM's PV async page fault features (leaf
// 0x40000001: ASYNC_PF, ASYNC_PF_VMEXIT, ASYNC_PF_INT) are hidden: a guest
// that enabled them would bring KVM's async page faults back (see
// KvmVm::DisableAsyncPageFaults).
std::vector<kvm_cpuid_entry2> CpuidForVcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                           uint32_t vcpu, uint32_t tsc_khz = 0,
                                           bool async_page_faults = true);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_CPU_SETUP_H_

#include "migrate/vcpu_capture.h"

#include <cerrno>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::migrate {
namespace {

// MSRs a guest kernel sets up for itself and that neither REGS nor SREGS
// carries (EFER and APIC base are in SREGS).
constexpr uint32_t kGuestMsrs[] = {
    0x00000010,  // TSC
    0x00000174,  // SYSENTER_CS
    0x00000175,  // SYSENTER_ESP
    0x00000176,  // SYSENTER_EIP
    0x00000277,  // PAT
    0xc0000081,  // STAR
    0xc0000082,  // LSTAR
    0xc0000083,  // CSTAR
    0xc0000084,  // SFMASK
    0xc0000102,  // KERNEL_GS_BASE
    0xc0000103,  // TSC_AUX
};

}  // namespace

CaptureFeatures DetectCaptureFeatures(const KvmSystem& sys, const KvmVcpu& probe,
                                      const std::vector<uint32_t>& extra) {
  CaptureFeatures f;
  f.xsave = sys.CheckExtension(KVM_CAP_XSAVE) > 0;
  f.xcrs = sys.CheckExtension(KVM_CAP_XCRS) > 0;
  std::vector<uint32_t> wanted(std::begin(kGuestMsrs), std::end(kGuestMsrs));
  wanted.insert(wanted.end(), extra.begin(), extra.end());
  for (const auto& [index, value] : probe.GetMsrs(wanted)) f.msrs.push_back(index);
  return f;
}

void CompletePendingExit(KvmVcpu& vcpu) {
  vcpu.run()->immediate_exit = 1;
  const int err = vcpu.Run();
  vcpu.run()->immediate_exit = 0;
  if (err != EINTR) {
    throw Error(fmt::format("vCPU {}: KVM_RUN with immediate_exit did not return EINTR ({})",
                            vcpu.id(), err == 0 ? "it ran" : ErrnoText(err)));
  }
}

VcpuState CaptureVcpu(const KvmVcpu& vcpu, const CaptureFeatures& f,
                      std::span<const uint8_t> slot) {
  VcpuState s;
  s.vcpu = vcpu.id();
  s.regs = vcpu.GetRegs();
  s.sregs = vcpu.GetSregs();
  if (f.xsave) {
    s.xsave = vcpu.GetXsave();
  } else {
    s.fpu = vcpu.GetFpu();
  }
  if (f.xcrs) s.xcrs = vcpu.GetXcrs();
  s.msrs = vcpu.GetMsrs(f.msrs);
  if (s.msrs.size() != f.msrs.size()) {
    throw Error(fmt::format("vCPU {}: KVM gave {} of the {} MSRs to capture", vcpu.id(),
                            s.msrs.size(), f.msrs.size()));
  }
  s.lapic = vcpu.GetLapic();
  s.events = vcpu.GetEvents();
  s.mp_state = vcpu.GetMpState();
  s.private_slot.assign(slot.begin(), slot.end());
  return s;
}

void RestoreVcpu(KvmVcpu& vcpu, const VcpuState& s) {
  if (s.vcpu != vcpu.id()) {
    throw Error(fmt::format("state of vCPU {} cannot be restored into vCPU {}", s.vcpu, vcpu.id()));
  }
  // SREGS first (modes, EFER, APIC base), then what depends on them; the
  // LAPIC after the APIC base; pending events and MP state last.
  vcpu.SetSregs(s.sregs);
  vcpu.SetRegs(s.regs);
  if (s.xcrs) vcpu.SetXcrs(*s.xcrs);
  if (s.xsave) vcpu.SetXsave(*s.xsave);
  if (s.fpu) vcpu.SetFpu(*s.fpu);
  if (!s.msrs.empty()) vcpu.SetMsrs(s.msrs);
  vcpu.SetLapic(s.lapic);
  vcpu.SetEvents(s.events);
  vcpu.SetMpState(s.mp_state);
}

}  // namespace ssivm::migrate

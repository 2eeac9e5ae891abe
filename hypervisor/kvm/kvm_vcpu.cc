#include "hypervisor/kvm/kvm_vcpu.h"

#include <sys/ioctl.h>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/kvm/kvm_abi_fix.h"

namespace ssivm {
namespace {

// One KVM_GET_* / KVM_SET_* of a fixed-size struct, errors naming it.
template <class T>
T GetState(int fd, unsigned long request, const char* name, uint32_t vcpu) {
  T v{};
  if (::ioctl(fd, request, &v) != 0) ThrowErrno(fmt::format("{} vCPU {}", name, vcpu));
  return v;
}

template <class T>
void SetState(int fd, unsigned long request, const T& v, const char* name, uint32_t vcpu) {
  if (::ioctl(fd, request, &v) != 0) ThrowErrno(fmt::format("{} vCPU {}", name, vcpu));
}

}  // namespace

KvmVcpu::KvmVcpu(const KvmVm& vm, uint32_t id) : id_(id) {
  const int fd = ::ioctl(vm.fd(), KVM_CREATE_VCPU, id);
  if (fd < 0) ThrowErrno(fmt::format("KVM_CREATE_VCPU for vCPU {}", id));
  fd_.Reset(fd);
  run_ =
      Mapping::Shared(fd_.get(), vm.system().VcpuMmapSize(), fmt::format("kvm_run of vCPU {}", id));
}

kvm_regs KvmVcpu::GetRegs() const {
  return GetState<kvm_regs>(fd(), KVM_GET_REGS, "KVM_GET_REGS", id_);
}

void KvmVcpu::SetRegs(const kvm_regs& r) {
  SetState(fd(), KVM_SET_REGS, r, "KVM_SET_REGS", id_);
}

kvm_sregs KvmVcpu::GetSregs() const {
  return GetState<kvm_sregs>(fd(), KVM_GET_SREGS, "KVM_GET_SREGS", id_);
}

void KvmVcpu::SetSregs(const kvm_sregs& s) {
  SetState(fd(), KVM_SET_SREGS, s, "KVM_SET_SREGS", id_);
}

void KvmVcpu::SetCpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  kvmabi::FlexBuffer<kvmabi::Cpuid2Header, kvm_cpuid_entry2> buf(entries.size());
  buf.header()->nent = static_cast<uint32_t>(entries.size());
  std::copy(entries.begin(), entries.end(), buf.entries());
  if (::ioctl(fd(), kvmabi::kSetCpuid2, buf.data()) != 0)
    ThrowErrno(fmt::format("KVM_SET_CPUID2 vCPU {}", id_));
}

uint32_t KvmVcpu::TscKhz() const {
  const int khz = ::ioctl(fd(), KVM_GET_TSC_KHZ, 0);
  return khz > 0 ? static_cast<uint32_t>(khz) : 0;
}

uint32_t KvmVcpu::GetMpState() const {
  return GetState<kvm_mp_state>(fd(), KVM_GET_MP_STATE, "KVM_GET_MP_STATE", id_).mp_state;
}

// On the idle path (the PV idle port): no formatting unless it fails.
void KvmVcpu::SetMpState(uint32_t state) {
  const kvm_mp_state mp{state};
  if (::ioctl(fd(), KVM_SET_MP_STATE, &mp) != 0) {
    ThrowErrno(fmt::format("KVM_SET_MP_STATE({}) vCPU {}", state, id_));
  }
}

void KvmVcpu::SetMsrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs) {
  kvmabi::FlexBuffer<kvmabi::MsrsHeader, kvm_msr_entry> buf(msrs.size());
  buf.header()->nmsrs = static_cast<uint32_t>(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) {
    buf.entries()[i] = kvm_msr_entry{};
    buf.entries()[i].index = msrs[i].first;
    buf.entries()[i].data = msrs[i].second;
  }
  const int r = ::ioctl(fd(), kvmabi::kSetMsrs, buf.data());
  if (r < 0) ThrowErrno(fmt::format("KVM_SET_MSRS vCPU {}", id_));
  if (static_cast<size_t>(r) != msrs.size()) {
    throw Error(fmt::format("KVM_SET_MSRS vCPU {}: MSR {:#x} = {:#x} was refused", id_,
                            msrs[r].first, msrs[r].second));
  }
}

std::optional<uint64_t> KvmVcpu::GetMsr(uint32_t index) const {
  kvmabi::FlexBuffer<kvmabi::MsrsHeader, kvm_msr_entry> buf(1);
  buf.header()->nmsrs = 1;
  buf.entries()[0] = kvm_msr_entry{};
  buf.entries()[0].index = index;
  if (::ioctl(fd(), kvmabi::kGetMsrs, buf.data()) != 1) return std::nullopt;
  return buf.entries()[0].data;
}

std::vector<std::pair<uint32_t, uint64_t>> KvmVcpu::GetMsrs(
    const std::vector<uint32_t>& indices) const {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (uint32_t index : indices) {
    if (const auto v = GetMsr(index)) out.emplace_back(index, *v);
  }
  return out;
}

kvm_fpu KvmVcpu::GetFpu() const {
  return GetState<kvm_fpu>(fd(), KVM_GET_FPU, "KVM_GET_FPU", id_);
}
void KvmVcpu::SetFpu(const kvm_fpu& f) {
  SetState(fd(), KVM_SET_FPU, f, "KVM_SET_FPU", id_);
}
kvmabi::Xsave KvmVcpu::GetXsave() const {
  return GetState<kvmabi::Xsave>(fd(), kvmabi::kGetXsave, "KVM_GET_XSAVE", id_);
}
void KvmVcpu::SetXsave(const kvmabi::Xsave& x) {
  SetState(fd(), kvmabi::kSetXsave, x, "KVM_SET_XSAVE", id_);
}
kvm_xcrs KvmVcpu::GetXcrs() const {
  return GetState<kvm_xcrs>(fd(), KVM_GET_XCRS, "KVM_GET_XCRS", id_);
}
void KvmVcpu::SetXcrs(const kvm_xcrs& x) {
  SetState(fd(), KVM_SET_XCRS, x, "KVM_SET_XCRS", id_);
}
kvm_lapic_state KvmVcpu::GetLapic() const {
  return GetState<kvm_lapic_state>(fd(), KVM_GET_LAPIC, "KVM_GET_LAPIC", id_);
}
void KvmVcpu::SetLapic(const kvm_lapic_state& l) {
  SetState(fd(), KVM_SET_LAPIC, l, "KVM_SET_LAPIC", id_);
}
kvm_vcpu_events KvmVcpu::GetEvents() const {
  return GetState<kvm_vcpu_events>(fd(), KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", id_);
}
void KvmVcpu::SetEvents(const kvm_vcpu_events& e) {
  SetState(fd(), KVM_SET_VCPU_EVENTS, e, "KVM_SET_VCPU_EVENTS", id_);
}

int KvmVcpu::Run() {
  return ::ioctl(fd(), KVM_RUN, 0) == 0 ? 0 : errno;
}

}  // namespace ssivm

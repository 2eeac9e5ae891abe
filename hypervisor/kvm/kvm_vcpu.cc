#include "hypervisor/kvm/kvm_vcpu.h"

#include <sys/ioctl.h>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/kvm/kvm_abi_fix.h"

namespace ssivm {
KvmVcpu::KvmVcpu(const KvmVm& vm, uint32_t id) : id_(id) {
  const int fd = ::ioctl(vm.fd(), KVM_CREATE_VCPU, id);
  if (fd < 0) ThrowErrno(fmt::format("KVM_CREATE_VCPU for vCPU {}", id));
  fd_.Reset(fd);
  run_ =
      Mapping::Shared(fd_.get(), vm.system().VcpuMmapSize(), fmt::format("kvm_run of vCPU {}", id));
}

kvm_regs KvmVcpu::GetRegs() const {
  kvm_regs r{};
  if (::ioctl(fd(), KVM_GET_REGS, &r) != 0) ThrowErrno(fmt::format("KVM_GET_REGS vCPU {}", id_));
  return r;
}

void KvmVcpu::SetRegs(const kvm_regs& r) {
  if (::ioctl(fd(), KVM_SET_REGS, &r) != 0) ThrowErrno(fmt::format("KVM_SET_REGS vCPU {}", id_));
}

kvm_sregs KvmVcpu::GetSregs() const {
  kvm_sregs s{};
  if (::ioctl(fd(), KVM_GET_SREGS, &s) != 0) ThrowErrno(fmt::format("KVM_GET_SREGS vCPU {}", id_));
  return s;
}

void KvmVcpu::SetSregs(const kvm_sregs& s) {
  if (::ioctl(fd(), KVM_SET_SREGS, &s) != 0) ThrowErrno(fmt::format("KVM_SET_SREGS vCPU {}", id_));
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

void KvmVcpu::SetMpState(uint32_t state) {
  kvm_mp_state mp{};
  mp.mp_state = state;
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

int KvmVcpu::Run() {
  return ::ioctl(fd(), KVM_RUN, 0) == 0 ? 0 : errno;
}

}  // namespace ssivm

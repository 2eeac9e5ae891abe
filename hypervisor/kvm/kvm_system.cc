#include "hypervisor/kvm/kvm_system.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/kvm/kvm_abi_fix.h"

namespace ssivm {

KvmSystem KvmSystem::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    std::string hint;
    if (err == ENOENT) {
      hint =
          "; KVM is not available on this host: load kvm_intel or kvm_amd (hardware "
          "virtualisation) or the PVM module, or run on a host that has /dev/kvm";
    } else if (err == EACCES || err == EPERM) {
      hint = "; permission denied: run as root or add your user to the 'kvm' group";
    }
    throw Error(fmt::format("cannot open {}: {}{}", path, ErrnoText(err), hint));
  }
  KvmSystem sys(std::move(fd), path);
  const int version = ::ioctl(sys.fd(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    throw Error(fmt::format("{}: KVM API version {} is not the supported version {}", path, version,
                            KVM_API_VERSION));
  }
  return sys;
}

int KvmSystem::CheckExtension(int cap) const {
  const int r = ::ioctl(fd(), KVM_CHECK_EXTENSION, cap);
  return r < 0 ? 0 : r;
}

void KvmSystem::Require(int cap, const char* name) const {
  if (CheckExtension(cap) <= 0) {
    throw Error(fmt::format("{}: the KVM capability {} is missing; ssivm needs it", path_, name));
  }
}

size_t KvmSystem::VcpuMmapSize() const {
  const int r = ::ioctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (r <= 0) ThrowErrno("KVM_GET_VCPU_MMAP_SIZE");
  return static_cast<size_t>(r);
}

std::vector<kvm_cpuid_entry2> KvmSystem::SupportedCpuid() const {
  for (uint32_t n = 128; n <= 4096; n *= 2) {
    kvmabi::FlexBuffer<kvmabi::Cpuid2Header, kvm_cpuid_entry2> buf(n);
    buf.header()->nent = n;
    if (::ioctl(fd(), kvmabi::kGetSupportedCpuid, buf.data()) == 0) {
      return {buf.entries(), buf.entries() + buf.header()->nent};
    }
    if (errno != E2BIG) ThrowErrno("KVM_GET_SUPPORTED_CPUID");
  }
  throw Error("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

int KvmSystem::MaxVcpus() const {
  const int max = CheckExtension(KVM_CAP_MAX_VCPUS);
  return max > 0 ? max : CheckExtension(KVM_CAP_NR_VCPUS);
}

}  // namespace ssivm

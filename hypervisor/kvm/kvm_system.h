// /dev/kvm: the KVM system handle, its API version and capabilities.
#ifndef SSIVM_HYPERVISOR_KVM_KVM_SYSTEM_H_
#define SSIVM_HYPERVISOR_KVM_KVM_SYSTEM_H_

#include <linux/kvm.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace ssivm {

class KvmSystem {
 public:
  // Opens the device; the error says what to do about a missing device or a
  // permission problem.
  static KvmSystem Open(const std::string& path = "/dev/kvm");

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // KVM_CHECK_EXTENSION on the system fd (0 = absent).
  int CheckExtension(int cap) const;
  // Throws Error naming the capability if it is absent.
  void Require(int cap, const char* name) const;

  size_t VcpuMmapSize() const;
  std::vector<kvm_cpuid_entry2> SupportedCpuid() const;
  int MaxVcpus() const;

 private:
  KvmSystem(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_KVM_KVM_SYSTEM_H_

// Which kind of KVM this host has: hardware-assisted (VMX/SVM) or PVM.
#ifndef SSIVM_HYPERVISOR_KVM_HOST_KIND_H_
#define SSIVM_HYPERVISOR_KVM_HOST_KIND_H_

#include <optional>
#include <string>
#include <string_view>

#include "guest/abi/boot_info.h"

namespace ssivm {

using HostKind = abi::HostKind;

const char* HostKindName(HostKind k);
// "pvm" / "hardware"; nullopt otherwise.
std::optional<HostKind> ParseHostKind(std::string_view s);

// From the CPU flags in /proc/cpuinfo text: vmx or svm means hardware KVM; a
// host without them can only offer PVM (PLATFORM.md).
HostKind HostKindFromCpuinfo(std::string_view cpuinfo);
HostKind DetectHostKind(const std::string& cpuinfo_path = "/proc/cpuinfo");

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_KVM_HOST_KIND_H_

// Host CPU lists in the kernel's cpuset notation ("1", "0-3,6"): which host
// CPUs the vCPU threads may run on. Pure parsing.
#ifndef SSIVM_HYPERVISOR_NODE_CPU_LIST_H_
#define SSIVM_HYPERVISOR_NODE_CPU_LIST_H_

#include <string>
#include <string_view>
#include <vector>

namespace ssivm {

// The environment variable behind ssivm's --vcpu-cpus.
inline constexpr char kVcpuCpusEnv[] = "SSIVM_VCPU_CPUS";

// The highest CPU number a list may name (glibc's cpu_set_t holds 1024).
inline constexpr int kMaxHostCpu = 1023;

// Parses "N", "A-B" and comma-separated mixes of them into sorted, distinct
// CPU numbers. Throws Error naming the bad part; an empty list is an error.
std::vector<int> ParseCpuList(std::string_view text);

// "0-3,6": the shortest list notation of sorted, distinct CPUs.
std::string FormatCpuList(const std::vector<int>& cpus);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CPU_LIST_H_

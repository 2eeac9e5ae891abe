// What a host needs to run node processes, checked before anything starts:
// a small sh script probes the host (run through ssh) and prints key=value
// lines; the decision over that text is pure logic.
#ifndef SSIVM_TOOLS_SSICTL_PREREQUISITES_H_
#define SSIVM_TOOLS_SSICTL_PREREQUISITES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ssivm {

// Memory a host needs besides the guest RAM of its nodes (page tables, the
// node process, the host itself).
inline constexpr uint64_t kMemoryMarginMib = 128;

// The probe: POSIX sh printing
//   kvm=ok|missing|unopenable  userfaultfd=ok|missing  mem_available_kib=N
//   ssivm=PATH (empty if not found)  ssivm_version=LINE
std::string ProbeScript(const std::string& ssivm);

struct HostProbe {
  std::string kvm;
  std::string userfaultfd;
  std::optional<uint64_t> mem_available_kib;
  std::string ssivm;
  std::string ssivm_version;
};

// Reads the probe's output; unknown lines are ignored, missing keys stay empty.
HostProbe ParseProbe(const std::string& text);

struct HostNeeds {
  uint64_t memory_mib = 0;  // guest RAM of every node on the host
  std::string ssivm;        // the ssivm binary asked for
  std::string version;      // `ssivm --version` of this machine's ssivm
};

// Everything wrong with the host, one message each (empty: it can run its nodes).
std::vector<std::string> FindProblems(const HostProbe& probe, const HostNeeds& needs);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_PREREQUISITES_H_

#include "hypervisor/kvm/host_kind.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

const char* HostKindName(HostKind k) {
  return k == HostKind::kPvm ? "pvm" : "hardware";
}

std::optional<HostKind> ParseHostKind(std::string_view s) {
  if (s == "pvm") return HostKind::kPvm;
  if (s == "hardware") return HostKind::kHardware;
  return std::nullopt;
}

HostKind HostKindFromCpuinfo(std::string_view cpuinfo) {
  std::istringstream in{std::string(cpuinfo)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(
        line.substr(line.find(':') == std::string::npos ? line.size() : line.find(':') + 1));
    std::string w;
    while (words >> w) {
      if (w == "vmx" || w == "svm") return HostKind::kHardware;
    }
    return HostKind::kPvm;  // the first CPU's flags speak for all
  }
  return HostKind::kPvm;
}

HostKind DetectHostKind(const std::string& cpuinfo_path) {
  std::ifstream f(cpuinfo_path);
  if (!f) throw Error(fmt::format("cannot read {} to detect the KVM kind", cpuinfo_path));
  std::stringstream ss;
  ss << f.rdbuf();
  return HostKindFromCpuinfo(ss.str());
}

}  // namespace ssivm

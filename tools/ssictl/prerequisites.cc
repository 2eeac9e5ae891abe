#include "tools/ssictl/prerequisites.h"

#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "common/command.h"

namespace ssivm {

std::string ProbeScript(const std::string& ssivm) {
  // `exec 3<>` opens the device the way ssivm does (read-write).
  return fmt::format(
      "if [ ! -e /dev/kvm ]; then echo kvm=missing; "
      "elif (exec 3<>/dev/kvm) 2>/dev/null; then echo kvm=ok; else echo kvm=unopenable; fi; "
      "if [ -e /dev/userfaultfd ]; then echo userfaultfd=ok; else echo userfaultfd=missing; fi; "
      "echo mem_available_kib=$(sed -n 's/^MemAvailable: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo); "
      "s=$(command -v {0} 2>/dev/null); echo ssivm=$s; "
      "if [ -n \"$s\" ]; then echo ssivm_version=$({0} --version 2>&1 | head -n 1); fi",
      ShellQuote(ssivm));
}

HostProbe ParseProbe(const std::string& text) {
  HostProbe p;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "kvm") {
      p.kvm = value;
    } else if (key == "userfaultfd") {
      p.userfaultfd = value;
    } else if (key == "mem_available_kib") {
      uint64_t kib = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), kib);
      if (ec == std::errc() && end == value.data() + value.size() && !value.empty()) {
        p.mem_available_kib = kib;
      }
    } else if (key == "ssivm") {
      p.ssivm = value;
    } else if (key == "ssivm_version") {
      p.ssivm_version = value;
    }
  }
  return p;
}

std::vector<std::string> FindProblems(const HostProbe& p, const HostNeeds& needs) {
  std::vector<std::string> problems;
  if (p.kvm == "missing") {
    problems.emplace_back("/dev/kvm is missing (no KVM on this host)");
  } else if (p.kvm == "unopenable") {
    problems.emplace_back("/dev/kvm cannot be opened read-write (permissions: root or group kvm)");
  } else if (p.kvm != "ok") {
    problems.emplace_back("/dev/kvm could not be checked (the probe did not report it)");
  }
  if (p.userfaultfd != "ok") {
    problems.emplace_back(p.userfaultfd == "missing"
                              ? "/dev/userfaultfd is missing (Linux >= 6.1 with userfaultfd)"
                              : "/dev/userfaultfd could not be checked");
  }
  const uint64_t need_kib = (needs.memory_mib + kMemoryMarginMib) * 1024;
  if (!p.mem_available_kib) {
    problems.emplace_back("free memory unknown (no MemAvailable in /proc/meminfo)");
  } else if (*p.mem_available_kib < need_kib) {
    problems.push_back(fmt::format(
        "not enough free memory: {} MiB available, the node(s) here need {} MiB + {} MiB margin",
        *p.mem_available_kib / 1024, needs.memory_mib, kMemoryMarginMib));
  }
  if (p.ssivm.empty()) {
    problems.push_back(
        fmt::format("ssivm binary '{}' not found (install ssivm or pass "
                    "--remote-ssivm PATH)",
                    needs.ssivm));
  } else if (p.ssivm_version != needs.version) {
    problems.push_back(
        fmt::format("{} is '{}', this machine's is '{}' (same release needed)", p.ssivm,
                    p.ssivm_version.empty() ? "(no version)" : p.ssivm_version, needs.version));
  }
  return problems;
}

}  // namespace ssivm

#include "hypervisor/emulated/l1_setup.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "hypervisor/emulated/qemu_command.h"

namespace ssivm::emulated {
namespace {

std::string Mount(const char* source, const char* target, const char* type, const char* data) {
  ::mkdir(target, 0755);
  if (::mount(source, target, type, 0, data) != 0) {
    return fmt::format("mount {} on {}: {}; ", type, target, ErrnoText(errno));
  }
  return "";
}

std::string LoopbackUp() {
  const UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (!s.valid() || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return "lo: no flags; ";
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return "cannot bring lo up; ";
  return "";
}

void WriteFile(const char* path, const char* text) {
  std::ofstream f(path);
  f << text;
}

bool WriteFileChecked(const std::string& path, const std::string& text) {
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  return fd.valid() &&
         ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

std::string ReadFile(const char* path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

std::string KvmAmdNptOption(std::string_view cmdline) {
  std::string_view param(kNestedPagingParam);
  for (size_t at = cmdline.find(param); at != std::string_view::npos;
       at = cmdline.find(param, at + 1)) {
    if (at != 0 && cmdline[at - 1] != ' ') continue;
    return cmdline.substr(at + param.size(), 1) == "0" ? "npt=0" : "npt=1";
  }
  return "npt=1";
}

std::string SetUpL1() {
  std::string problems;
  problems += Mount("devpts", "/dev/pts", "devpts", "ptmxmode=0666,mode=0620,gid=5");
  problems += Mount("shm", "/dev/shm", "tmpfs", "mode=1777");
  problems += LoopbackUp();
  ::sethostname("hwkvm", 5);
  // Guest RAM backed by huge pages means fewer nested page walks.
  WriteFile("/sys/kernel/mm/transparent_hugepage/enabled", "always");
  const CommandResult r =
      RunCommand({"/run/hwkvm/modprobe", "kvm_amd", KvmAmdNptOption(ReadFile("/proc/cmdline"))});

  if (r.exit_code != 0) problems += fmt::format("modprobe kvm_amd: {}; ", r.output);
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    problems += fmt::format("/dev/kvm: {}", ErrnoText(errno));
  }
  return problems;
}

namespace {
constexpr char kTracing[] = "/sys/kernel/tracing";
constexpr uint64_t kTaintDie = 1u << 7;  // the kernel oopsed
constexpr uint32_t kSvmExitShutdown = 0x7f;
}  // namespace

namespace {

// kvm_amd's code in the machine: [start, end), or nullopt.
std::optional<std::pair<uint64_t, uint64_t>> KvmAmdRange() {
  std::istringstream modules(ReadFile("/proc/modules"));
  std::string line;
  while (std::getline(modules, line)) {
    // "kvm_amd 163840 0 - Live 0xffffffffc0456000"
    std::istringstream f(line);
    std::string name, size, refs, deps, state, address;
    if (!(f >> name >> size >> refs >> deps >> state >> address) || name != "kvm_amd") continue;
    const uint64_t start = std::strtoull(address.c_str(), nullptr, 16);
    if (start == 0) return std::nullopt;  // hidden (kptr_restrict)
    return std::make_pair(start, start + std::strtoull(size.c_str(), nullptr, 10));
  }
  return std::nullopt;
}

// The lines of the machine's trace buffer (what RecordEmulatorFaults asked for).
std::vector<std::string> TraceLines() {
  std::vector<std::string> out;
  std::istringstream trace(ReadFile((std::string(kTracing) + "/trace").c_str()));
  std::string line;
  while (std::getline(trace, line)) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

}  // namespace

std::string RecordEmulatorFaults() {
  std::string mounted = Mount("tracefs", kTracing, "tracefs", nullptr);
  if (!mounted.empty()) return mounted;
  const auto range = KvmAmdRange();
  if (!range) return "kvm_amd's code is not in /proc/modules";
  // Also every guest triple fault (SVM_EXIT_SHUTDOWN), where it happened:
  // KVM resets the vCPU before the VMM sees it.
  const std::string filter =
      fmt::format("(guest_rip >= {:#x} && guest_rip < {:#x}) || exit_reason == {:#x}", range->first,
                  range->second, kSvmExitShutdown);
  const std::string events = std::string(kTracing) + "/events/kvm/kvm_exit/";
  if (!WriteFileChecked(events + "filter", filter) || !WriteFileChecked(events + "enable", "1")) {
    return fmt::format("cannot trace kvm:kvm_exit ({}): {}", filter, ErrnoText(errno));
  }
  return "";
}

std::string EmulatorFaultEvidence() {
  std::string evidence;
  const auto range = KvmAmdRange();
  for (const std::string& line : TraceLines()) {
    const size_t at = line.find(" rip 0x");
    if (!range || at == std::string::npos) continue;
    const uint64_t rip = std::strtoull(line.c_str() + at + 5, nullptr, 16);
    if (rip >= range->first && rip < range->second) {
      evidence = "a guest vCPU ran in kvm_amd's code: " + line;
      break;
    }
  }
  std::string tainted = ReadFile("/proc/sys/kernel/tainted");
  while (!tainted.empty() && tainted.back() == '\n') tainted.pop_back();
  if ((std::strtoull(tainted.c_str(), nullptr, 10) & kTaintDie) != 0) {
    if (!evidence.empty()) evidence += "; ";
    evidence += "the machine's kernel oopsed (/proc/sys/kernel/tainted " + tainted + ")";
  }
  return evidence;
}

std::string GuestShutdownTrace() {
  std::string out;
  for (const std::string& line : TraceLines()) {
    if (line.find("kvm_exit") != std::string::npos && line.find("shutdown") != std::string::npos) {
      out += line + "\n";
    }
  }
  return out;
}

UniqueFd OpenChannelPort() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/virtio-ports", ec)) {
    std::ifstream f(e.path() / "name");
    std::string name;
    std::getline(f, name);
    if (name != kChannelPortName) continue;
    const std::string dev = "/dev/" + e.path().filename().string();
    UniqueFd fd(::open(dev.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) ThrowErrno(fmt::format("open {}", dev));
    return fd;
  }
  throw Error(
      fmt::format("no virtio-serial port named {} in /sys/class/virtio-ports", kChannelPortName));
}

}  // namespace ssivm::emulated

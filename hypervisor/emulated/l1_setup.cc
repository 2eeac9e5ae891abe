#include "hypervisor/emulated/l1_setup.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
#include "hypervisor/node/cpu_list.h"

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

// Whole, or false (errno says why).
bool WriteFile(const std::string& path, const std::string& text) {
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
  (void)!::sethostname("hwkvm", 5);  // a name for the prompt only
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
// An SVM exit's interrupt info (EXITINTINFO): valid, type, vector.
constexpr uint64_t kIntrValid = 1ull << 31;
constexpr uint64_t kIntrTypeMask = 7ull << 8;
constexpr uint64_t kIntrException = 3ull << 8;
constexpr uint64_t kPageFaultVector = 14;
constexpr uint64_t kPfPresent = 1;     // page-fault error code: P
constexpr uint64_t kPfFetch = 1 << 4;  // I/D
// Every test guest has RAM here, all of it mapped by the identity tables the
// VMM builds (node-private, never changed): ssivm's kernel, Linux's
// decompressor. A DSM miss is a nested page fault (L1's KVM), never a guest's.
constexpr uint64_t kIdentityMappedLow = 1ull << 20;
constexpr uint64_t kIdentityMappedHigh = 128ull << 20;

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

// The hex number after `key` in a kvm_exit trace line, or nullopt.
std::optional<uint64_t> TraceField(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + " 0x");
  if (at == std::string::npos) return std::nullopt;
  return std::strtoull(line.c_str() + at + key.size() + 2, nullptr, 16);
}

// A guest triple fault: kvm_exit with reason shutdown.
bool IsShutdownExit(const std::string& line) {
  return line.find("kvm_exit:") != std::string::npos &&
         line.find(" reason shutdown ") != std::string::npos;
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
  if (!WriteFile(events + "filter", filter) || !WriteFile(events + "enable", "1")) {
    return fmt::format("cannot trace kvm:kvm_exit ({}): {}", filter, ErrnoText(errno));
  }
  return "";
}

std::string EmulatorFaultInTrace(const std::vector<std::string>& lines,
                                 std::optional<std::pair<uint64_t, uint64_t>> kvm_amd) {
  for (const std::string& line : lines) {
    if (line.find("kvm_exit:") == std::string::npos) continue;
    const auto rip = TraceField(line, "rip");
    if (!rip) continue;
    if (kvm_amd && *rip >= kvm_amd->first && *rip < kvm_amd->second) {
      return "a guest vCPU ran in kvm_amd's code: " + line;
    }
    const auto intr = TraceField(line, "intr_info");
    const auto error = TraceField(line, "error_code");
    if (!IsShutdownExit(line) || !intr || !error) continue;
    const bool page_fault = (*intr & kIntrValid) != 0 &&
                            (*intr & kIntrTypeMask) == kIntrException &&
                            (*intr & 0xff) == kPageFaultVector;
    const bool absent_code = (*error & kPfPresent) == 0 && (*error & kPfFetch) != 0;
    if (page_fault && absent_code && *rip >= kIdentityMappedLow && *rip < kIdentityMappedHigh) {
      return "a guest vCPU triple-faulted delivering a page fault for code that its page tables "
             "map (not-present instruction fetch in low RAM): " +
             line;
    }
  }
  return "";
}

std::string EmulatorFaultEvidence() {
  std::string evidence = EmulatorFaultInTrace(TraceLines(), KvmAmdRange());
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
    if (IsShutdownExit(line)) out += line + "\n";
  }
  return out;
}

std::vector<std::string> InsideEnvironment(std::vector<std::string> env, long online_cpus) {
  const std::string prefix = std::string(kVcpuCpusEnv) + "=";
  for (const std::string& e : env) {
    if (e.starts_with(prefix)) return env;
  }
  env.push_back(prefix + std::to_string(std::max(online_cpus, 1L) - 1));
  return env;
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

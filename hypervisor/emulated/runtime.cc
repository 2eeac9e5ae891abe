#include "hypervisor/emulated/runtime.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/kvm/host_kind.h"

namespace ssivm::emulated {

std::optional<KvmChoice> ParseKvmChoice(std::string_view s) {
  if (s == "auto") return KvmChoice::kAuto;
  if (s == "host") return KvmChoice::kHost;
  if (s == "emulated") return KvmChoice::kEmulated;
  return std::nullopt;
}

const char* KvmChoiceName(KvmChoice c) {
  switch (c) {
    case KvmChoice::kAuto:
      return "auto";
    case KvmChoice::kHost:
      return "host";
    case KvmChoice::kEmulated:
      return "emulated";
  }
  return "?";
}

HostKvm ProbeHostKvm(const std::string& device) {
  HostKvm h;
  const int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    h.open_errno = errno;
  } else {
    ::close(fd);
  }
  try {
    h.hardware = DetectHostKind() == HostKind::kHardware;
  } catch (const Error&) {
    h.hardware = false;
  }
  return h;
}

KvmDecision DecideKvm(KvmChoice choice, const HostKvm& host, const std::string& device,
                      bool need_hardware) {
  const std::string unusable =
      host.open_errno != 0 ? fmt::format("{}: {}", device, ErrnoText(host.open_errno)) : "";
  switch (choice) {
    case KvmChoice::kEmulated:
      return {true, "--kvm emulated"};
    case KvmChoice::kHost:
      if (!unusable.empty()) {
        throw Error(
            fmt::format("--kvm host, but {}; use --kvm auto or emulated to run in the "
                        "emulated hardware-KVM machine",
                        unusable));
      }
      return {false, fmt::format("--kvm host ({})", device)};
    case KvmChoice::kAuto:
      break;
  }
  if (!unusable.empty()) return {true, fmt::format("no usable KVM here ({})", unusable)};
  if (need_hardware && !host.hardware) {
    return {true, fmt::format("{} is PVM KVM, and this needs hardware KVM", device)};
  }
  return {false, fmt::format("{} opens", device)};
}

KvmChoice ChoiceFrom(const std::string& option) {
  const auto c = ParseKvmChoice(option);
  if (!c) throw Error(fmt::format("--kvm {}: use auto, host or emulated", option));
  if (*c != KvmChoice::kAuto) return *c;
  const char* env = std::getenv(kKvmEnv);
  if (env == nullptr || *env == '\0') return KvmChoice::kAuto;
  const auto e = ParseKvmChoice(env);
  if (!e) throw Error(fmt::format("{}={}: use auto, host or emulated", kKvmEnv, env));
  return *e;
}

MachineSize SizeFor(uint32_t vcpus, uint64_t guest_mib, uint32_t node_processes,
                    uint32_t host_cpus) {
  MachineSize s{};
  s.cpus = std::max<uint32_t>(
      1, std::min<uint32_t>(std::max<uint32_t>(2, vcpus), std::max<uint32_t>(1, host_cpus)));
  // The machine's kernel and page cache (the host's binaries over 9p) and
  // its tmpfs take ~400 MiB; each VMM process some more.
  const uint64_t mib = guest_mib + 512 + 64ull * node_processes;
  s.memory_mib = std::max<uint64_t>(1024, (mib + 255) / 256 * 256);
  return s;
}

std::vector<std::string> ArgsForInside(int argc, const char* const* argv) {
  std::vector<std::string> out;
  int i = 1;
  for (; i < argc && std::string(argv[i]) != "--"; ++i) {  // after "--": operands
    const std::string a = argv[i];
    if (a == "--kvm") {
      ++i;  // and its value
    } else if (a.rfind("--kvm=", 0) != 0) {
      out.push_back(a);
    }
  }
  out.insert(out.end(), {"--kvm", "host"});
  out.insert(out.end(), argv + std::min(i, argc), argv + argc);
  return out;
}

std::vector<std::string> EnvironmentWith(
    const std::vector<std::pair<std::string, std::string>>& set) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string s(*e);
    const bool replaced = std::any_of(
        set.begin(), set.end(), [&s](const auto& kv) { return s.rfind(kv.first + "=", 0) == 0; });
    if (!replaced) env.push_back(s);
  }
  for (const auto& [name, value] : set) env.push_back(name + "=" + value);
  return env;
}

int RunSelfInEmulatedMachine(const std::string& who, const std::vector<std::string>& args,
                             MachineOptions options) {
  std::error_code ec;
  std::vector<std::string> argv = {std::filesystem::read_symlink("/proc/self/exe", ec).string()};
  if (ec) throw Error(fmt::format("cannot read /proc/self/exe: {}", ec.message()));
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommandInEmulatedMachine(who, argv, std::move(options));
}

int RunCommandInEmulatedMachine(const std::string& who, const std::vector<std::string>& argv,
                                MachineOptions options) {
  return RunCommandInEmulatedMachineFor(who, argv, std::move(options)).status;
}

MachineRun RunCommandInEmulatedMachineFor(const std::string& who,
                                          const std::vector<std::string>& argv,
                                          MachineOptions options) {
  ExecRequest exec;
  exec.argv = argv;
  exec.env = EnvironmentWith({{kKvmEnv, "host"}, {kInsideEnv, "1"}});
  exec.cwd = std::filesystem::current_path().string();
  exec.tty = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  if (exec.tty) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
      exec.rows = ws.ws_row;
      exec.cols = ws.ws_col;
    }
  }
  if (!options.progress) {
    options.progress = [who, tty = exec.tty](const std::string& s) {
      // The terminal is raw while the machine runs: end lines with CR LF.
      std::fprintf(stderr, "%s: %s%s", who.c_str(), s.c_str(), tty ? "\r\n" : "\n");
    };
  }
  MachineRun r = RunInEmulatedMachine(options, exec);
  if (r.machine_failed) std::fprintf(stderr, "%s: %s\n", who.c_str(), r.message.c_str());
  return r;
}

}  // namespace ssivm::emulated

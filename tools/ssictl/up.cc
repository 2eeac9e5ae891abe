#include "tools/ssictl/up.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <filesystem>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "guest/abi/boot_info.h"
#include "tools/ssictl/emulated_up.h"
#include "tools/ssictl/locate.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

pid_t g_child = -1;

void Forward(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

void CheckReadableFile(const std::string& what, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(fmt::format("{} {}: no such file", what, path));
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(fmt::format("{} {}: not a regular file", what, path));
  }
  if (::access(path.c_str(), R_OK) != 0)
    throw Error(fmt::format("{} {}: not readable", what, path));
}

}  // namespace

std::vector<std::string> SsivmArgv(const UpOptions& opt) {
  if (opt.vcpus < 1 || opt.vcpus > abi::kMaxVcpus) {
    throw Error(fmt::format("--vcpus {} is out of range (1 to {})", opt.vcpus, abi::kMaxVcpus));
  }
  if (opt.memory_mib < 32) {
    throw Error(fmt::format("--memory {} MiB is too small (at least 32 MiB)", opt.memory_mib));
  }
  const std::string kernel =
      opt.kernel.empty() ? Locate("guest/kernel", "SSIVM_KERNEL") : opt.kernel;
  CheckReadableFile("--kernel", kernel);
  if (!opt.initrd.empty()) CheckReadableFile("--initrd", opt.initrd);
  const std::string ssivm = opt.ssivm.empty() ? Locate("hypervisor/ssivm", "SSIVM_BIN") : opt.ssivm;
  std::vector<std::string> argv = {ssivm,
                                   "--kernel",
                                   kernel,
                                   "--vcpus",
                                   std::to_string(opt.vcpus),
                                   "--memory",
                                   std::to_string(opt.memory_mib),
                                   "--console",
                                   opt.console,
                                   "--host-kind",
                                   opt.host_kind};
  if (!opt.initrd.empty()) argv.insert(argv.end(), {"--initrd", opt.initrd});
  if (!opt.cmdline.empty()) argv.insert(argv.end(), {"--cmdline", opt.cmdline});
  if (!opt.placement.empty()) argv.insert(argv.end(), {"--placement", opt.placement});
  return argv;
}

int Up(const UpOptions& opt) {
  std::vector<std::string> args = SsivmArgv(opt);
  if (!opt.name.empty()) CheckVmName(opt.name);
  const std::string name = opt.name.empty() ? fmt::format("vm-{}", ::getpid()) : opt.name;
  // First: a second `up` of a running name is refused before it touches anything.
  const RunState state{name, ::getpid(), 0, {ControlPath(name, 0)}};
  const RunStateFile state_file(state);
  EmulatedUp em;
  em.kvm = opt.kvm;
  em.vcpus = opt.vcpus;
  em.guest_mib = opt.memory_mib;
  em.needs_hardware = IsLinuxKernel(args[2]);
  em.control = state.control;
  em.console_socket = ConsoleSocket(opt.console);
  em.name = name;
  em.name_given = !opt.name.empty();
  em.check = args;
  if (auto status = UpEmulatedIfNeeded(em)) return *status;
  args.insert(args.end(), {"--control", state.control[0]});
  SpawnStdio stdio;
  stdio.die_with_parent = true;  // ssivm ends with this process, however it ends
  const pid_t pid = Spawn(args, stdio);
  g_child = pid;
  // The terminal's Ctrl-C reaches the whole process group; forwarding covers
  // signals sent to ssictl alone. A SIGHUP is ssivm's to judge (it stops the
  // VM only if its console was this terminal): ssictl waits for its verdict.
  struct sigaction sa {};
  sa.sa_handler = Forward;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &sa, nullptr);
  const int status = WaitExitStatus(pid);
  g_child = -1;
  return status;
}

}  // namespace ssivm

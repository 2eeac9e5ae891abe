#include "tools/ssictl/emulated_up.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "common/exit_status.h"
#include "common/unique_fd.h"
#include "hypervisor/emulated/runtime.h"
#include "hypervisor/x86/bzimage.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

std::vector<std::string> g_args;  // argv without argv[0], with --kvm host

// `up --detach`: the machine runs on in a process of its own (its own
// session; output to `log`) after `up` inside has returned, until the last
// node process in it ends; this process returns `up`'s status.
int UpDetached(const std::vector<std::string>& args, emulated::MachineOptions o,
               const std::string& log) {
  namespace em = emulated;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) ThrowErrno("pipe2");
  UniqueFd rd(p[0]), wr(p[1]);
  const pid_t pid = ::fork();
  if (pid < 0) ThrowErrno("fork");
  if (pid == 0) {
    rd.Reset();
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR);
    const int out =
        ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    ::dup2(null, 0);
    ::dup2(out >= 0 ? out : null, 1);
    ::dup2(out >= 0 ? out : null, 2);
    int status = kExitVmmError;
    try {
      o.progress = [](const std::string& s) { std::fprintf(stderr, "ssictl: %s\n", s.c_str()); };
      o.on_exit = [&wr](int st) {
        const auto b = static_cast<uint8_t>(st);
        (void)!::write(wr.get(), &b, 1);
        wr.Reset();
      };
      std::error_code ec;
      std::vector<std::string> argv = {std::filesystem::read_symlink("/proc/self/exe", ec)};
      argv.insert(argv.end(), args.begin(), args.end());
      em::ExecRequest exec;
      exec.argv = argv;
      exec.env = em::EnvironmentWith({{em::kKvmEnv, "host"}, {em::kInsideEnv, "1"}});
      exec.cwd = std::filesystem::current_path().string();
      exec.linger = true;
      const em::MachineRun r = em::RunInEmulatedMachine(o, exec);
      if (r.machine_failed) std::fprintf(stderr, "ssictl: %s\n", r.message.c_str());
      status = r.status;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ssictl: %s\n", e.what());
    }
    ::_exit(status);
  }
  wr.Reset();
  uint8_t status = 0;
  ssize_t n;
  while ((n = ::read(rd.get(), &status, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) {
    std::fprintf(stderr, "ssictl: the emulated machine stopped before the nodes ran; its log %s:\n",
                 log.c_str());
    std::ifstream f(log);
    std::fputs(std::string(std::istreambuf_iterator<char>(f), {}).c_str(), stderr);
    ::waitpid(pid, nullptr, 0);
    return kExitVmmError;
  }
  if (status == 0) {
    std::fprintf(stderr,
                 "ssictl: the emulated machine keeps running (pid %d; log %s) until its nodes "
                 "stop\n",
                 pid, log.c_str());
  }
  return status;
}

}  // namespace

void RememberInvocation(int argc, char** argv) {
  g_args = emulated::ArgsForInside(argc, argv);
}

bool IsLinuxKernel(const std::string& path) {
  std::vector<uint8_t> head(4096);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  head.resize(std::fread(head.data(), 1, head.size(), f));
  std::fclose(f);
  return LooksLikeBzImage(head);
}

std::string ConsoleSocket(const std::string& console) {
  return console.rfind("socket:", 0) == 0 ? console.substr(7) : "";
}

std::optional<int> UpEmulatedIfNeeded(const EmulatedUp& up) {
  namespace em = emulated;
  const em::KvmDecision where =
      em::DecideKvm(em::ChoiceFrom(up.kvm), em::ProbeHostKvm(), "/dev/kvm", up.needs_hardware);
  if (!where.emulated) return std::nullopt;
  if (!up.check.empty()) {
    std::vector<std::string> argv = up.check;
    argv.emplace_back("--check");
    const CommandResult r = RunCommand(argv);
    if (r.exit_code != 0) {
      std::fputs(r.output.c_str(), stderr);
      return r.exit_code == kExitUsage ? kExitUsage : kExitVmmError;
    }
  }
  std::fprintf(stderr,
               "ssictl: %s: running the nodes in the emulated hardware-KVM machine (QEMU TCG; "
               "much slower than KVM)\n",
               where.reason.c_str());
  const em::MachineSize size =
      em::SizeFor(up.vcpus, up.guest_mib, up.nodes, std::thread::hardware_concurrency());
  em::MachineOptions o;
  o.cpus = size.cpus;
  o.memory_mib = size.memory_mib;
  // Inside, the run directory starts empty: the host's VMs are not there.
  const std::string run_dir = RunDir();
  ::setenv("SSIVM_RUN_DIR", run_dir.c_str(), 1);
  o.private_dirs.push_back(run_dir);
  o.forward_sockets = up.control;
  if (!up.console_socket.empty()) o.forward_sockets.push_back(up.console_socket);
  std::vector<std::string> args = g_args;
  if (!up.name_given) {
    // Before the "--kvm host" ArgsForInside appended (and any operands).
    const auto kvm = std::find(args.rbegin(), args.rend(), std::string("--kvm"));
    args.insert(kvm.base() - 1, {"--name", up.name});
  }
  if (up.detach) return UpDetached(args, std::move(o), up.log);
  // The terminal's Ctrl-C goes to the guest's console (raw mode) or, without
  // a terminal, reaches the command inside through the supervisor.
  return em::RunSelfInEmulatedMachine("ssictl", args, o);
}

}  // namespace ssivm

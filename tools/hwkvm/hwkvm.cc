// hwkvm: the emulated hardware-KVM machine for people and scripts.
//
//   hwkvm run [options] -- COMMAND...   run COMMAND inside the machine
//   hwkvm test [--need-hardware] -- TEST...
//                                       run a Bazel test where KVM is
//   hwkvm fetch                         prepare the package cache (the machine's
//                                       packages and the Linux test guest's)
//
// The machine is QEMU in pure emulation (TCG) with an AMD CPU that has SVM,
// running Debian's kernel, whose kvm_amd gives a real /dev/kvm with nested
// paging. This host's files are visible inside at the same paths
// (read-only; writes go to a throwaway tmpfs, except in --rw directories).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/main_guard.h"
#include "hypervisor/emulated/agent.h"
#include "hypervisor/emulated/l1_packages.h"
#include "hypervisor/emulated/runtime.h"
#include "tools/hwkvm/vm_test.h"

static int Main(int argc, char** argv) {
  ssivm::emulated::RunAgentIfAsked(argc, argv);
  using ssivm::emulated::MachineOptions;
  CLI::App app{
      "hwkvm: run commands in the emulated hardware-KVM machine (QEMU TCG with an SVM CPU; "
      "Debian's kernel with kvm_amd inside). This host's files are visible inside at the same "
      "paths, read-only."};
  app.require_subcommand(1);

  MachineOptions o;
  o.cpus = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  std::vector<std::string> command;
  uint32_t timeout_s = 0, boot_timeout_s = 300;
  bool quiet = false;
  CLI::App* run = app.add_subcommand(
      "run", "Run COMMAND inside the machine; exit with its status (125: the machine failed)");
  run->add_option("--cpus", o.cpus, "CPUs of the machine")->capture_default_str();
  run->add_option("--memory", o.memory_mib, "RAM of the machine in MiB")->capture_default_str();
  // One value per use: else `--rw DIR -- COMMAND -x` hands -x to hwkvm.
  run->add_option("--rw", o.rw_dirs, "A host directory the command may write (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--forward", o.forward_sockets,
                  "A Unix socket here that reaches the same path inside (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--timeout", timeout_s, "Stop the command after this many seconds (0: never)")
      ->capture_default_str();
  run->add_option("--boot-timeout", boot_timeout_s, "Seconds the machine may take to be ready")
      ->capture_default_str();
  run->add_option("--log", o.log_path, "Write the machine's whole console here");
  run->add_option("--cache", o.cache_dir,
                  "Package cache (default $SSIVM_HWKVM_CACHE or ~/.cache/ssivm/hwkvm)");
  run->add_flag("--offline", o.offline, "Never download packages");
  bool shadow_paging = false;
  run->add_flag("--shadow-paging", shadow_paging,
                "Load kvm_amd with npt=0 inside (an experiment: under QEMU 7.2 it hangs the "
                "machine; docs/emulated-machine.md)");

  run->add_flag("--quiet,-q", quiet, "No progress lines");
  run->add_option("command", command, "The command and its arguments (after --)")->required();

  std::vector<std::string> test;
  bool need_hardware = false;
  CLI::App* test_cmd = app.add_subcommand(
      "test",
      "Run a Bazel test program: here when /dev/kvm is usable (and $SSIVM_KVM is not emulated), "
      "else in the machine, sharing the directories Bazel gave the test");
  test_cmd->add_flag("--need-hardware", need_hardware,
                     "The test needs hardware KVM: PVM's /dev/kvm does not do");
  test_cmd->add_option("command", test, "The test program and its arguments (after --)")
      ->required();

  std::string cache;
  bool fetch_offline = false;
  CLI::App* fetch = app.add_subcommand(
      "fetch",
      "Download (apt-get download) and unpack the Debian packages the machine is made of and the "
      "Linux test guest's workloads (stress-ng, memtester, numactl, their libraries); print "
      "their paths");
  fetch->add_option("--cache", cache,
                    "Package cache (default $SSIVM_HWKVM_CACHE or ~/.cache/ssivm/hwkvm)");
  fetch->add_flag("--offline", fetch_offline, "Only what the cache holds: never download");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : ssivm::kExitUsage;
  }
  try {
    if (*fetch) {
      const std::string dir = cache.empty() ? ssivm::emulated::DefaultCacheDir() : cache;
      const auto say = [](const std::string& s) { std::fprintf(stderr, "hwkvm: %s\n", s.c_str()); };
      const auto p = ssivm::emulated::PrepareL1Packages(dir, fetch_offline, say);
      std::printf("kernel_root=%s\nvmlinuz=%s\nrelease=%s\nbusybox=%s\n", p.kernel_root.c_str(),
                  p.vmlinuz.c_str(), p.release.c_str(), p.busybox.c_str());
      // The Linux test guest's workloads: every package's directory, ':' between.
      std::string workloads;
      for (const std::string& root :
           ssivm::emulated::PrepareGuestWorkloadPackages(dir, fetch_offline, say)) {
        workloads += (workloads.empty() ? "" : ":") + root;
      }
      std::printf("guest_workloads=%s\n", workloads.c_str());
      return 0;
    }
    if (*test_cmd) {
      if (auto status = ssivm::hwkvm::RunInEmulatedMachineIfNeeded(test, need_hardware)) {
        return *status;
      }
      // Here, then: the test must not ask again.
      ::setenv(ssivm::emulated::kKvmEnv, "host", 1);
      std::vector<char*> args;
      args.reserve(test.size());
      for (std::string& a : test) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      std::fprintf(stderr, "hwkvm: cannot run %s: %s\n", args[0], std::strerror(errno));
      return ssivm::kExitCannotRun;
    }
    o.timeout = std::chrono::seconds(timeout_s);
    o.boot_timeout = std::chrono::seconds(boot_timeout_s);
    if (quiet) o.progress = [](const std::string&) {};
    o.nested_paging = !shadow_paging;
    return ssivm::emulated::RunCommandInEmulatedMachine("hwkvm", command, o);

  } catch (const ssivm::Error& e) {
    std::fprintf(stderr, "hwkvm: %s\n", e.what());
    return ssivm::kExitVmmError;
  }
}

int main(int argc, char** argv) {
  return ssivm::GuardMain("hwkvm", [&] { return Main(argc, argv); });
}

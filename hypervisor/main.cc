// ssivm: the per-node VMM process.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/error.h"
#include "common/main_guard.h"
#include "common/thread_filter.h"
#include "hypervisor/emulated/agent.h"
#include "hypervisor/emulated/runtime.h"
#include "hypervisor/kvm/host_kind.h"
#include "hypervisor/node/cluster_role.h"
#include "hypervisor/node/control_client.h"
#include "hypervisor/node/cpu_list.h"
#include "hypervisor/node/machine.h"
#include "hypervisor/node/vm_stop.h"
#include "hypervisor/version.h"
#include "provision/manifest/manifest.h"

namespace {

// Exit statuses of `ssivm --query`: answered, no node runs there, failed
// (no answer, or an {"error": ...} one).
constexpr int kQueryAnswered = 0;
constexpr int kQueryNotRunning = 3;
constexpr int kQueryFailed = 1;

// What --query takes: a command name, or a whole JSON request object (the
// commands with arguments, e.g. {"cmd":"migrate","vcpu":1,"to":1}).
nlohmann::json QueryRequest(const std::string& query) {
  if (query.starts_with('{')) return nlohmann::json::parse(query, nullptr, false);
  return {{"cmd", query}};
}

std::string CheckQuery(const std::string& query) {
  const nlohmann::json request = QueryRequest(query);
  const bool ok = query.starts_with('{')
                      ? request.is_object() && request.contains("cmd") && request["cmd"].is_string()
                      : query == "status" || query == "stop";
  return ok ? ""
            : fmt::format(R"('{}': use status, stop or a JSON request object with a string "cmd")",
                          query);
}

// `ssivm --query QUERY --control PATH`: one request to a running node's
// control socket, its JSON answer on stdout (an {"error": ...} one too, and
// its text on stderr). This is how ssictl asks nodes on other hosts (over
// ssh), where only ssivm is installed.
int Query(const std::string& query, const std::string& control) {
  try {
    const std::optional<nlohmann::json> answer = ssivm::RequestNode(control, QueryRequest(query));
    if (!answer) {
      std::printf("{\"running\":false}\n");
      return kQueryNotRunning;
    }
    std::printf("%s\n", answer->dump().c_str());
    if (const std::optional<std::string> error = ssivm::AnswerError(*answer)) {
      std::fprintf(stderr, "ssivm: %s: %s\n", control.c_str(), error->c_str());
      return kQueryFailed;
    }
    return kQueryAnswered;
  } catch (const ssivm::Error& e) {
    std::fprintf(stderr, "ssivm: %s\n", e.what());
    return kQueryFailed;
  }
}

// ssivm itself, run again in the emulated hardware-KVM machine: the same
// options, --kvm host, its control and console sockets forwarded to here.
int RunEmulated(int argc, char** argv, const ssivm::MachineConfig& cfg) {
  namespace em = ssivm::emulated;
  const em::MachineSize size =
      em::SizeFor(cfg.vcpus, cfg.memory_mib, 1, std::thread::hardware_concurrency());
  em::MachineOptions o;
  o.cpus = size.cpus;
  o.memory_mib = size.memory_mib;
  if (!cfg.control_path.empty()) o.forward_sockets.push_back(cfg.control_path);
  if (cfg.console.kind == ssivm::ConsoleSpec::Kind::kSocket) {
    o.forward_sockets.push_back(cfg.console.socket_path);
  }
  return em::RunSelfInEmulatedMachine("ssivm", em::ArgsForInside(argc, argv), o);
}

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_st("ssivm");
  logger->set_pattern("ssivm: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

static int Main(int argc, char** argv) {
  ssivm::emulated::RunAgentIfAsked(argc, argv);
  const auto process_start = std::chrono::steady_clock::now();
  ssivm::MachineConfig cfg;
  std::string console = "stdio";
  std::string host_kind = "auto";
  std::string log_level = "info";
  std::string kvm = "auto";

  CLI::App app{"ssivm: the per-node VMM of the ssivm distributed hypervisor"};
  std::string manifest_path;
  uint32_t node_id = 0;
  auto* kernel_opt =
      app.add_option("--kernel", cfg.kernel_path, "Guest kernel: an x86-64 ELF or a Linux bzImage");
  auto* manifest_opt = app.add_option("--manifest", manifest_path,
                                      "Cluster manifest: run as one node of a multi-node guest "
                                      "(the guest comes from the manifest)");
  app.add_option("--node", node_id, "This node's id in the manifest")->needs(manifest_opt);
  app.add_option("--initrd", cfg.initrd_path, "Initial ramdisk to load for the kernel");
  app.add_option("--cmdline", cfg.cmdline, "Kernel command line");
  app.add_option("--vcpus", cfg.vcpus, "Number of vCPUs")->check(CLI::PositiveNumber);
  app.add_option("--memory", cfg.memory_mib, "Guest RAM in MiB")->check(CLI::PositiveNumber);
  app.add_option("--console", console, "Console: stdio, none or socket:PATH");
  app.add_option("--host-kind", host_kind, "KVM kind: auto, pvm or hardware")
      ->check(CLI::IsMember({"auto", "pvm", "hardware"}));
  app.add_option("--kvm", kvm,
                 "Where the VM runs: host (this host's KVM device), emulated (the emulated "
                 "hardware-KVM machine: QEMU TCG, much slower), or auto (host if its device "
                 "opens, else emulated; also $SSIVM_KVM)")
      ->check(CLI::IsMember({"auto", "host", "emulated"}))
      ->capture_default_str();
  app.add_option("--kvm-device", cfg.kvm_path, "The host's KVM device")->capture_default_str();
  std::string vcpu_cpus;
  app.add_option("--vcpu-cpus", vcpu_cpus,
                 "Host CPUs the vCPU threads run on, e.g. 1 or 0-3,6 (default: any; also "
                 "$SSIVM_VCPU_CPUS, which the emulated machine sets to its last CPU)")
      ->envname(ssivm::kVcpuCpusEnv);
  std::string placement;
  auto* placement_opt =
      app.add_option("--placement", placement,
                     "With --manifest, on node 0: move vCPUs automatically to the node whose "
                     "memory they keep pulling pages from (on), or only when an operator says so "
                     "(off) (default: the manifest's `placement`, else on)")
          ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--control", cfg.control_path,
                 "Control socket for ssictl status/down (a Unix socket path)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  std::string query;
  auto* query_opt =
      app.add_option("--query", query,
                     "Ask the node listening on --control: status, stop, or a JSON request "
                     "object such as {\"cmd\":\"migrate\",\"vcpu\":1,\"to\":1}; print its JSON "
                     "answer and exit (1: no answer or an error answer, 3: no node runs there)")
          ->check(CLI::Validator(CheckQuery, "QUERY"));
  bool check_only = false;
  app.add_flag("--check", check_only,
               "Only check the guest (image, initrd, command line, sizes, host memory) and exit: "
               "0 if it would boot, 125 naming the problem");
  bool no_seccomp = false;
  app.add_flag("--no-seccomp", no_seccomp,
               "Run the VMM's threads without their system call filters (for debugging a "
               "refused call; see common/thread_filter.cc)");
  app.set_version_flag("--version", ssivm::VersionLine());
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ssivm: %s\nRun 'ssivm --help' for the options.\n", e.what());
    return ssivm::kExitUsage;
  }
  if (!vcpu_cpus.empty()) {
    try {
      cfg.vcpu_cpus = ssivm::ParseCpuList(vcpu_cpus);
    } catch (const ssivm::Error& e) {
      std::fprintf(stderr, "ssivm: --vcpu-cpus (or $%s): %s\n", ssivm::kVcpuCpusEnv, e.what());
      return ssivm::kExitUsage;
    }
  }
  if (*query_opt) {
    if (cfg.control_path.empty()) {
      std::fprintf(stderr, "ssivm: --query needs --control PATH\n");
      return ssivm::kExitUsage;
    }
    return Query(query, cfg.control_path);
  }
  if (!*kernel_opt && !*manifest_opt) {
    std::fprintf(
        stderr, "ssivm: --kernel or --manifest is required\nRun 'ssivm --help' for the options.\n");
    return ssivm::kExitUsage;
  }
  SetUpLogging(log_level);
  try {
    if (*manifest_opt) {
      const ssivm::provision::ClusterManifest m = ssivm::provision::Load(manifest_path);
      cfg.cluster = ssivm::RoleFromManifest(m, node_id);
      // The command line wins over the manifest (ssictl up --placement).
      if (placement_opt->count() > 0) cfg.cluster->placement = placement == "on";
      ssivm::LoadRoleSecret(*cfg.cluster, manifest_path);
      spdlog::set_pattern(fmt::format("ssivm[node {}]: %v", node_id));
      if (!*kernel_opt) cfg.kernel_path = m.guest.kernel;
      if (cfg.kernel_path.empty()) {
        throw ssivm::Error(fmt::format(
            "{}: the guest has no kernel; set guest.kernel or pass --kernel", manifest_path));
      }
      cfg.initrd_path = m.guest.initrd;
      cfg.cmdline = m.guest.cmdline;
      cfg.vcpus = cfg.cluster->vcpus();
      cfg.memory_mib = cfg.cluster->view.TotalMemoryBytes() >> 20;
    }
    cfg.console = ssivm::ParseConsoleSpec(console);
    if (host_kind != "auto") cfg.host_kind = ssivm::ParseHostKind(host_kind);
    // Bad images, sizes and command lines fail here, wherever the VM runs.
    const ssivm::GuestCheck check = ssivm::ValidateGuest(cfg);
    if (check_only) return 0;
    const ssivm::emulated::KvmDecision where = ssivm::emulated::DecideKvm(
        ssivm::emulated::ChoiceFrom(kvm), ssivm::emulated::ProbeHostKvm(cfg.kvm_path), cfg.kvm_path,
        check.needs_hardware_kvm);
    if (where.emulated) {
      if (cfg.cluster) {
        throw ssivm::Error(fmt::format(
            "{}: a node process cannot run alone in the emulated hardware-KVM machine (its peers "
            "could not reach it); 'ssictl up --manifest' runs every node of this machine in one",
            where.reason));
      }
      spdlog::info(
          "{}: running in the emulated hardware-KVM machine (QEMU TCG; much slower "
          "than KVM)",
          where.reason);
      return RunEmulated(argc, argv, cfg);
    }
    // Each VMM thread filters its own system calls once set up.
    if (!no_seccomp) ssivm::EnableThreadFilters();
    const ssivm::MachineResult r = ssivm::RunMachine(cfg, process_start);
    if (r.error) {
      spdlog::error("{}", r.message);
    } else if (!r.message.empty()) {
      spdlog::info("{}", r.message);
    }
    spdlog::info("exit status {} ({} vCPU exits handled)", r.status, r.exits);
    return r.status;
  } catch (const ssivm::Error& e) {
    spdlog::error("{}", e.what());
    return ssivm::kExitVmmError;
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {}", e.what());
    return ssivm::kExitVmmError;
  }
}

int main(int argc, char** argv) {
  return ssivm::GuardMain("ssivm", [&] { return Main(argc, argv); });
}

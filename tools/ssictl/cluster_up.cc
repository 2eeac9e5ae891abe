#include "tools/ssictl/cluster_up.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "common/exit_status.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "guest/abi/boot_info.h"
#include "provision/manifest/manifest.h"
#include "provision/manifest/secret.h"
#include "tools/ssictl/cluster_plan.h"
#include "tools/ssictl/emulated_up.h"
#include "tools/ssictl/locate.h"
#include "tools/ssictl/netns.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

std::vector<pid_t> g_children;

void ForwardToChildren(int sig) {
  for (pid_t p : g_children) ::kill(p, sig);
}

}  // namespace

uint16_t FreeLoopbackPort() {
  const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ThrowErrno("finding a free loopback port");
  }
  return ntohs(a.sin_port);
}

int UpCluster(const UpOptions& up, const ClusterUpOptions& opt) {
  if (opt.nodes < 1 || opt.nodes > 16) {
    throw Error(fmt::format("--nodes {} is out of range (1 to 16 on one machine)", opt.nodes));
  }
  if (opt.vcpus_per_node < 1 || opt.nodes * opt.vcpus_per_node > abi::kMaxVcpus) {
    throw Error(fmt::format("--vcpus-per-node {} is out of range", opt.vcpus_per_node));
  }
  constexpr uint64_t kMaxGuestMib = 500ull << 10;  // the VMM's page tables' limit
  if (opt.memory_per_node_mib < 32 || opt.nodes * opt.memory_per_node_mib > kMaxGuestMib) {
    throw Error(
        fmt::format("--memory-per-node {} MiB is out of range (at least 32; at most {} MiB in all)",
                    opt.memory_per_node_mib, kMaxGuestMib));
  }
  if (std::string e = provision::CacheMibProblem(opt.cache_mib, opt.vcpus_per_node); !e.empty()) {
    throw Error("--cache-mib " + e);
  }
  if (opt.net != "netns" && opt.net != "loopback") {
    throw Error(fmt::format("--net {}: use netns or loopback", opt.net));
  }
  const std::string ssivm = up.ssivm.empty() ? Locate("hypervisor/ssivm", "SSIVM_BIN") : up.ssivm;
  const std::string kernel = up.kernel.empty() ? Locate("guest/kernel", "SSIVM_KERNEL") : up.kernel;
  const std::string tag = fmt::format("{:05x}", ::getpid() & 0xfffff);
  const auto subnet = static_cast<uint8_t>(20 + ::getpid() % 200);
  if (!up.name.empty()) CheckVmName(up.name);
  const std::string name = up.name.empty() ? "local-" + tag : up.name;
  // First: a second `up` of a running name is refused before it touches anything.
  RunState state{name, ::getpid(), 0, {}};
  for (uint32_t k = 0; k < opt.nodes; ++k) state.control.push_back(ControlPath(name, k));
  const RunStateFile state_file(state);
  {
    EmulatedUp em;
    em.kvm = up.kvm;
    em.vcpus = opt.nodes * opt.vcpus_per_node;
    em.guest_mib = opt.nodes * opt.memory_per_node_mib;
    em.nodes = opt.nodes;
    em.needs_hardware = IsLinuxKernel(kernel);
    em.control = state.control;
    em.console_socket = ConsoleSocket(up.console);
    em.name = name;
    em.name_given = !up.name.empty();
    em.check = {ssivm,
                "--kernel",
                kernel,
                "--vcpus",
                std::to_string(em.vcpus),
                "--memory",
                std::to_string(em.guest_mib),
                "--cmdline",
                up.cmdline};
    if (!up.initrd.empty()) em.check.insert(em.check.end(), {"--initrd", up.initrd});
    if (auto status = UpEmulatedIfNeeded(em)) return *status;
  }

  std::unique_ptr<NetnsHosts> hosts;
  if (opt.net == "netns") hosts = std::make_unique<NetnsHosts>(opt.nodes, tag, subnet);

  std::vector<std::string> addresses;
  for (uint32_t k = 0; k < opt.nodes; ++k) {
    addresses.push_back(hosts ? fmt::format("{}:7400", hosts->address(k))
                              : fmt::format("127.0.0.1:{}", FreeLoopbackPort()));
  }
  const provision::ClusterManifest m =
      LocalManifest(name, std::filesystem::absolute(kernel).string(), up, opt, addresses);
  const TempDir dir("ssivm-up");  // private (mkdtemp): nothing planted in it
  const std::string manifest = dir.path() + "/cluster.toml";
  provision::Save(m, manifest);
  if (!opt.insecure_transport) provision::EnsureSecret(manifest);

  std::vector<pid_t> pids;
  struct sigaction sa {};
  sa.sa_handler = ForwardToChildren;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &sa, nullptr);  // the terminal's Ctrl-C reaches the nodes directly
  int status = kExitVmmError;
  try {
    for (uint32_t k = 0; k < opt.nodes; ++k) {
      std::vector<std::string> argv = hosts ? hosts->Exec(k) : std::vector<std::string>{};
      argv.insert(argv.end(),
                  {ssivm, "--manifest", manifest, "--node", std::to_string(k), "--console",
                   k == 0 ? up.console : "none", "--control", state.control[k]});
      // In the foreground: the nodes end with this process, however it ends.
      SpawnStdio stdio = k == 0 ? SpawnStdio{} : SpawnStdio{kDevNull, kDevNull, kInherit};
      stdio.die_with_parent = true;
      pids.push_back(Spawn(argv, stdio));
      g_children.push_back(pids.back());
    }
    // Node 0 owns the console and ends the run; the others follow its
    // shutdown message (or notice it is gone).
    status = WaitExitStatus(pids[0]);
    for (size_t k = 1; k < pids.size(); ++k) {
      if (!WaitExitStatusFor(pids[k], std::chrono::seconds(30))) {
        std::fprintf(stderr, "ssictl: node %zu did not stop; killing it\n", k);
        ::kill(pids[k], SIGKILL);
        WaitExitStatusFor(pids[k], std::chrono::seconds(30));
      }
    }
  } catch (...) {
    for (pid_t p : pids) ::kill(p, SIGKILL);
    for (pid_t p : pids) WaitExitStatusFor(p, std::chrono::seconds(30));
    g_children.clear();
    throw;
  }
  g_children.clear();
  return status;
}

}  // namespace ssivm

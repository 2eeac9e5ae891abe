// ssictl: the admin CLI of ssivm.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/main_guard.h"
#include "hypervisor/emulated/agent.h"
#include "tools/ssictl/cluster_up.h"
#include "tools/ssictl/console_client.h"
#include "tools/ssictl/domain_cmd.h"
#include "tools/ssictl/emulated_up.h"
#include "tools/ssictl/manifest_cmd.h"
#include "tools/ssictl/packages_cmd.h"
#include "tools/ssictl/remote_cluster.h"
#include "tools/ssictl/run_state.h"
#include "tools/ssictl/up.h"
#include "tools/ssictl/vcpu_cmd.h"

namespace {

// --manifest and how to reach its hosts: the same for up, status and down.
CLI::Option* AddRemoteOptions(CLI::App* cmd, ssivm::RemoteOptions& r) {
  CLI::Option* manifest = cmd->add_option(
      "--manifest", r.manifest,
      "Operate the cluster of this manifest on its hosts (ssh; localhost directly)");
  cmd->add_option("--ssh-user", r.access.ssh.user, "ssh login name (ssh -l)");
  cmd->add_option("--identity", r.access.ssh.identity, "ssh identity file (ssh -i)");
  cmd->add_option("--ssh-option", r.access.ssh.options, "ssh -o KEY=VALUE (repeatable)");
  cmd->add_option("--connect-timeout", r.access.ssh.connect_timeout_s,
                  "ssh ConnectTimeout in seconds")
      ->capture_default_str();
  cmd->add_option("--remote-dir", r.access.remote_dir,
                  "Directory on each host for the manifest, guest image, sockets and logs "
                  "(default /var/lib/ssivm/<cluster_id>; on localhost the run directory)");
  cmd->add_option("--remote-ssivm", r.access.remote_ssivm, "ssivm binary on the remote hosts")
      ->capture_default_str();
  return manifest;
}

// The host-access options only mean something with a cluster to reach.
void RequireCluster(CLI::App* cmd, std::initializer_list<const CLI::Option*> targets) {
  if (!*cmd) return;
  for (const CLI::Option* t : targets) {
    if (t != nullptr && *t) return;
  }
  for (const char* name : {"--ssh-user", "--identity", "--ssh-option", "--connect-timeout",
                           "--remote-dir", "--remote-ssivm", "--detach"}) {
    const CLI::Option* o = cmd->get_option_no_throw(name);
    if (o != nullptr && *o) {
      throw CLI::ValidationError(
          name,
          std::string("needs ") + (targets.size() > 1 ? "--manifest or --domain" : "--manifest"));
    }
  }
}

// A vCPU index or node id: a plain decimal number (CLI11 would also take
// 0x10, and 010 as octal).
const CLI::Validator kIndex(
    [](const std::string& s) -> std::string {
      if (!s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos) {
        return "";
      }
      return "'" + s + "' is not a non-negative integer";
    },
    "NUMBER");

// migrate, pin and unpin: what sets each apart on the command line. Node 0
// does the work, blocking until a move is done.
struct VcpuCommandSpec {
  ssivm::VcpuRequest::Kind kind;
  const char* name;
  const char* about;
  const char* node;  // its node argument (an option or a positional); nullptr: none
  const char* node_help;
};

constexpr VcpuCommandSpec kVcpuCommands[] = {
    {ssivm::VcpuRequest::Kind::kMigrate, "migrate",
     "Move a vCPU to another node while the guest runs (it only sees a pause); print how long the "
     "vCPU did not run",
     "--to", "The node to move it to"},
    {ssivm::VcpuRequest::Kind::kPin, "pin",
     "Pin a vCPU to a node, moving it there first if needed: automatic placement never moves it "
     "and migrate refuses to, until unpin",
     "node", "The node to keep it on"},
    {ssivm::VcpuRequest::Kind::kUnpin, "unpin",
     "Unpin a vCPU: automatic placement may move it again", nullptr, nullptr},
};

// One of them as registered: its subcommand and --manifest.
struct VcpuCli {
  ssivm::VcpuRequest::Kind kind;
  CLI::App* cmd;
  CLI::Option* manifest;
};

// VCPU, the node, then which VM (its name, or --manifest), and --json.
VcpuCli AddVcpuCommand(CLI::App& app, const VcpuCommandSpec& spec, ssivm::VcpuRequest& request,
                       std::string& vm_name, bool& json, ssivm::RemoteOptions& remote) {
  CLI::App* cmd = app.add_subcommand(spec.name, spec.about);
  cmd->add_option("vcpu", request.vcpu, "The vCPU (its index in the guest)")
      ->required()
      ->check(kIndex);
  if (spec.node != nullptr) {
    cmd->add_option(spec.node, request.node, spec.node_help)->required()->check(kIndex);
  }
  CLI::Option* name = cmd->add_option(
      "name", vm_name, "The VM started on this machine (default: the only one running)");
  cmd->add_flag("--json", json, "Print node 0's JSON answer");
  return {spec.kind, cmd, AddRemoteOptions(cmd, remote)->excludes(name)};
}

}  // namespace

static int Main(int argc, char** argv) {
  ssivm::emulated::RunAgentIfAsked(argc, argv);
  ssivm::RememberInvocation(argc, argv);
  CLI::App app{"ssictl: boot and manage an ssivm aggregated VM"};
  app.require_subcommand(1);

  ssivm::UpOptions up;
  CLI::App* up_cmd = app.add_subcommand("up", "Boot the VM and wait until it powers off");
  up_cmd->add_option("--vcpus", up.vcpus, "Number of vCPUs")->capture_default_str();
  up_cmd->add_option("--memory", up.memory_mib, "Guest RAM in MiB")->capture_default_str();
  up_cmd->add_option("--kernel", up.kernel, "Guest kernel (default: the bundled ssivm guest)");
  up_cmd->add_option("--initrd", up.initrd, "Initial ramdisk");
  up_cmd->add_option("--cmdline", up.cmdline, "Kernel command line");
  up_cmd->add_option("--console", up.console, "stdio, none or socket:PATH")->capture_default_str();
  up_cmd->add_option("--host-kind", up.host_kind, "auto, pvm or hardware")
      ->check(CLI::IsMember({"auto", "pvm", "hardware"}))
      ->capture_default_str();
  up_cmd->add_option("--ssivm", up.ssivm, "Path of the ssivm node binary");
  up_cmd
      ->add_option("--kvm", up.kvm,
                   "Where the nodes on this machine run: host (its /dev/kvm), emulated (the "
                   "emulated hardware-KVM machine: QEMU TCG, much slower; the console, status and "
                   "down work as usual), or auto (host if /dev/kvm opens, else emulated; also "
                   "$SSIVM_KVM)")
      ->check(CLI::IsMember({"auto", "host", "emulated"}))
      ->capture_default_str();
  up_cmd->add_option("--name", up.name, "Name of the VM (for ssictl status/down)");
  up_cmd
      ->add_option("--placement", up.placement,
                   "Automatic vCPU placement: on (node 0 moves a vCPU to the node whose memory it "
                   "keeps pulling pages from) or off (vCPUs move only by ssictl migrate/pin). "
                   "Default: on; with --manifest or --domain, the manifest's `placement`, which "
                   "this overrides. --nodes writes it into the manifest it makes. One node alone "
                   "has nowhere to move vCPUs to")
      ->check(CLI::IsMember({"on", "off"}));
  ssivm::ClusterUpOptions cluster;
  auto* nodes_opt = up_cmd->add_option("--nodes", cluster.nodes,
                                       "Run the guest across N node processes on this machine");
  up_cmd->add_option("--vcpus-per-node", cluster.vcpus_per_node, "vCPUs each node runs")
      ->needs(nodes_opt)
      ->capture_default_str();
  up_cmd->add_option("--memory-per-node", cluster.memory_per_node_mib, "MiB each node contributes")
      ->needs(nodes_opt)
      ->capture_default_str();
  up_cmd->add_option("--cache-mib", cluster.cache_mib, ssivm::kCacheMibHelp)
      ->needs(nodes_opt)
      ->capture_default_str();
  up_cmd->add_option("--net", cluster.net, "netns (a namespace per node) or loopback")
      ->needs(nodes_opt)
      ->check(CLI::IsMember({"netns", "loopback"}))
      ->capture_default_str();
  ssivm::RemoteOptions remote;
  CLI::Option* up_manifest = AddRemoteOptions(up_cmd, remote);
  up_manifest->excludes(nodes_opt);
  for (const char* local_only :
       {"--vcpus", "--memory", "--kernel", "--initrd", "--cmdline", "--host-kind", "--name"}) {
    up_manifest->excludes(up_cmd->get_option(local_only));
  }
  std::string domain_file, domain_nodes_file;
  CLI::Option* up_domain = up_cmd->add_option(
      "--domain", domain_file,
      "Boot the aggregate a libvirt domain XML describes (one <cpu><numa><cell> per node; cells "
      "without ssivm placement run on this machine)");
  up_domain->excludes(nodes_opt)->excludes(up_manifest);
  for (const char* local_only :
       {"--vcpus", "--memory", "--kernel", "--initrd", "--cmdline", "--host-kind", "--name"}) {
    up_domain->excludes(up_cmd->get_option(local_only));
  }
  up_cmd->add_option("--nodes-file", domain_nodes_file, "Hosts of the domain's cells, in order")
      ->needs(up_domain);
  up_cmd->add_flag("--detach", remote.detach, "Return once every node runs (--manifest, --domain)");
  up_cmd
      ->add_flag("--insecure-transport", cluster.insecure_transport,
                 "With --nodes: no cluster secret, frames in clear (anyone who can reach a node's "
                 "port can join and read and write guest memory). A manifest says it with "
                 "transport_security = \"none\"")
      ->needs(nodes_opt);

  std::string vm_name;
  bool json_output = false;
  CLI::App* status_cmd = app.add_subcommand("status", "Show the running VMs: nodes, vCPUs, DSM");
  CLI::Option* status_name = status_cmd->add_option("name", vm_name, "Only this VM");
  status_cmd->add_flag("--json", json_output, "Print JSON");
  CLI::Option* status_manifest = AddRemoteOptions(status_cmd, remote)->excludes(status_name);
  CLI::App* down_cmd = app.add_subcommand("down", "Stop a running VM (every node)");
  CLI::Option* down_name =
      down_cmd->add_option("name", vm_name, "The VM to stop (default: every running VM)");
  CLI::Option* down_manifest = AddRemoteOptions(down_cmd, remote)->excludes(down_name);

  ssivm::VcpuRequest vcpu;
  std::vector<VcpuCli> vcpu_cmds;
  for (const VcpuCommandSpec& spec : kVcpuCommands) {
    vcpu_cmds.push_back(AddVcpuCommand(app, spec, vcpu, vm_name, json_output, remote));
  }

  std::string socket_path;
  CLI::App* console_cmd = app.add_subcommand("console", "Attach this terminal to a VM console");
  console_cmd->add_option("socket", socket_path, "The VM's console socket")->required();

  ssivm::ManifestCommands manifest_cmds(app);
  ssivm::PackagesCommands packages_cmds(app);
  ssivm::DomainCommands domain_cmds(app);

  try {
    app.parse(argc, argv);
    RequireCluster(up_cmd, {up_manifest, up_domain});
    RequireCluster(status_cmd, {status_manifest});
    RequireCluster(down_cmd, {down_manifest});
    for (const VcpuCli& v : vcpu_cmds) RequireCluster(v.cmd, {v.manifest});
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ssictl: %s\nRun 'ssictl --help' for the commands.\n", e.what());
    return ssivm::kExitUsage;
  }
  try {
    if (*up_cmd && *nodes_opt) return ssivm::UpCluster(up, cluster);
    if (*up_cmd || *status_cmd || *down_cmd)
      remote.access.ssh = ssivm::WithSshFromEnv(remote.access.ssh);
    remote.console = up.console;
    remote.kvm = up.kvm;
    remote.placement = up.placement;
    remote.access.ssivm = up.ssivm;
    remote.json = json_output;
    if (*up_cmd && *up_manifest) return ssivm::UpManifest(remote);
    if (*up_cmd && *up_domain) return ssivm::UpDomain(domain_file, domain_nodes_file, remote);
    if (*up_cmd) return ssivm::Up(up);
    if (*status_cmd && *status_manifest) return ssivm::StatusManifest(remote);
    if (*status_cmd) return ssivm::Status(vm_name, json_output);
    if (*down_cmd && *down_manifest) return ssivm::DownManifest(remote);
    if (*down_cmd) return ssivm::Down(vm_name);
    for (const VcpuCli& v : vcpu_cmds) {
      if (!*v.cmd) continue;
      vcpu.kind = v.kind;
      remote.access.ssh = ssivm::WithSshFromEnv(remote.access.ssh);
      return ssivm::VcpuCommand(vcpu, vm_name, remote);
    }
    if (*console_cmd) return ssivm::AttachConsole(socket_path);
    if (int status = manifest_cmds.Run(); status >= 0) return status;
    if (int status = packages_cmds.Run(); status >= 0) return status;
    if (int status = domain_cmds.Run(); status >= 0) return status;
  } catch (const ssivm::Error& e) {
    std::fprintf(stderr, "ssictl: error: %s\n", e.what());
    return ssivm::kExitVmmError;
  }
  return ssivm::kExitUsage;
}

int main(int argc, char** argv) {
  return ssivm::GuardMain("ssictl", [&] { return Main(argc, argv); });
}

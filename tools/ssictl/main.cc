// ssictl: the admin CLI of ssivm.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "tools/ssictl/cluster_up.h"
#include "tools/ssictl/console_client.h"
#include "tools/ssictl/domain_cmd.h"
#include "tools/ssictl/manifest_cmd.h"
#include "tools/ssictl/packages_cmd.h"
#include "tools/ssictl/run_state.h"
#include "tools/ssictl/up.h"

namespace {
constexpr int kExitUsage = 2;
constexpr int kExitError = 125;
}  // namespace

int main(int argc, char** argv) {
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
  up_cmd->add_option("--name", up.name, "Name of the VM (for ssictl status/down)");
  ssivm::ClusterUpOptions cluster;
  auto* nodes_opt = up_cmd->add_option("--nodes", cluster.nodes,
                                       "Run the guest across N node processes on this machine");
  up_cmd->add_option("--vcpus-per-node", cluster.vcpus_per_node, "vCPUs each node runs")
      ->needs(nodes_opt)
      ->capture_default_str();
  up_cmd->add_option("--memory-per-node", cluster.memory_per_node_mib, "MiB each node contributes")
      ->needs(nodes_opt)
      ->capture_default_str();
  up_cmd->add_option("--net", cluster.net, "netns (a namespace per node) or loopback")
      ->needs(nodes_opt)
      ->check(CLI::IsMember({"netns", "loopback"}))
      ->capture_default_str();

  std::string vm_name;
  bool status_json = false;
  CLI::App* status_cmd = app.add_subcommand("status", "Show the running VMs: nodes, vCPUs, DSM");
  status_cmd->add_option("name", vm_name, "Only this VM");
  status_cmd->add_flag("--json", status_json, "Print JSON");
  CLI::App* down_cmd = app.add_subcommand("down", "Stop a running VM (every node)");
  down_cmd->add_option("name", vm_name, "The VM to stop (default: every running VM)");

  std::string socket_path;
  CLI::App* console_cmd = app.add_subcommand("console", "Attach this terminal to a VM console");
  console_cmd->add_option("socket", socket_path, "The VM's console socket")->required();

  ssivm::ManifestCommands manifest_cmds(app);
  ssivm::PackagesCommands packages_cmds(app);
  ssivm::DomainCommands domain_cmds(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ssictl: %s\nRun 'ssictl --help' for the commands.\n", e.what());
    return kExitUsage;
  }
  try {
    if (*up_cmd && *nodes_opt) {
      cluster.kernel = up.kernel;
      cluster.initrd = up.initrd;
      cluster.cmdline = up.cmdline;
      cluster.console = up.console;
      cluster.ssivm = up.ssivm;
      cluster.name = up.name;
      return ssivm::UpCluster(cluster);
    }
    if (*up_cmd) return ssivm::Up(up);
    if (*status_cmd) return ssivm::Status(vm_name, status_json);
    if (*down_cmd) return ssivm::Down(vm_name);
    if (*console_cmd) return ssivm::AttachConsole(socket_path);
    if (int status = manifest_cmds.Run(); status >= 0) return status;
    if (int status = packages_cmds.Run(); status >= 0) return status;
    if (int status = domain_cmds.Run(); status >= 0) return status;
  } catch (const ssivm::Error& e) {
    std::fprintf(stderr, "ssictl: error: %s\n", e.what());
    return kExitError;
  }
  return kExitUsage;
}

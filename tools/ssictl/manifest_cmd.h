// `ssictl manifest new|check` and `ssictl node add|remove`: the cluster
// manifest side of provisioning (provision/manifest).
#ifndef SSIVM_TOOLS_SSICTL_MANIFEST_CMD_H_
#define SSIVM_TOOLS_SSICTL_MANIFEST_CMD_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "common/exit_status.h"

namespace ssivm {

// --help of `--cache-mib` (`manifest new`, `up --nodes`): the manifest's
// `cache_mib` for every node.
inline constexpr char kCacheMibHelp[] =
    "MiB of guest RAM homed on other nodes that each node may keep resident (its cache of their "
    "pages; the manifest's cache_mib, written for every node). 0: automatic (the key is left "
    "out): what the node's host can spare when it starts (MemAvailable minus the node's own "
    "guest RAM and private regions minus a reserve of max(256 MiB, 10%), at most the other "
    "nodes' guest RAM). At least 2 MiB per vCPU of a node, 4 MiB at least";

struct ManifestOptions {
  std::string nodes_file;
  std::string output;
  std::string cluster_id = "ssivm";
  uint32_t vcpus_per_node = 1;
  uint64_t memory_per_node_mib = 256;
  uint64_t cache_mib = 0;  // every node's `cache_mib`; 0: automatic (left out)
  uint16_t port = 7400;
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  bool update = false;
  bool force = false;
  bool insecure_transport = false;
  std::string placement = "on";  // the manifest's `placement`
  std::string check_file;
  // node add/remove
  std::string host;
  std::string name;
  uint32_t add_vcpus = 0;       // 0: as many as the newest node
  uint64_t add_memory_mib = 0;  // 0: as much as the newest node
  std::string manifest = "/etc/ssivm/cluster.toml";
};

// Registers the `manifest` and `node` subcommands on app. After parsing, Run
// runs the selected one and returns its exit status (-1: none selected).
class ManifestCommands {
 public:
  explicit ManifestCommands(CLI::App& app);
  int Run();

 private:
  ManifestOptions opt_;
  CLI::App* new_ = nullptr;
  CLI::App* check_ = nullptr;
  CLI::App* add_ = nullptr;
  CLI::App* remove_ = nullptr;
};

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_MANIFEST_CMD_H_

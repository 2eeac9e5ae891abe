#include "tests/support/local_nodes.h"

#include <unistd.h>

#include <filesystem>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/node/control_client.h"

namespace ssivm::testing {
namespace {

const char kSsivm[] = "hypervisor/ssivm";

}  // namespace

LocalNodes::LocalNodes(const std::string& name, uint16_t port, const std::string& cmdline,
                       const LocalNodesConfig& config)
    : control_(fmt::format("/tmp/ssivm-{}-{}-", ::getpid(), name)) {
  std::vector<int> ids(config.nodes);
  std::iota(ids.begin(), ids.end(), 0);
  const std::string manifest =
      WriteManifest(name + ".toml", port, cmdline, ids, config.manifest_top, config.vcpus_per_node,
                    config.memory_mib, config.node_lines);
  const NodeProcess::Output output =
      config.logs_in_output ? NodeProcess::Output::kStdoutAndStderr : NodeProcess::Output::kStdout;
  nodes_.resize(config.nodes);
  // Node 0 last (any order works: each node waits for its peers to connect).
  for (uint32_t k = config.nodes; k-- > 0;) {
    std::vector<std::string> argv = {
        kSsivm, "--manifest", manifest, "--node", std::to_string(k), "--control", Control(k)};
    if (k == 0) {
      argv.insert(argv.end(), {"--console", "stdio"});
      argv.insert(argv.end(), config.node0_args.begin(), config.node0_args.end());
    } else {
      argv.insert(argv.end(), {"--console", "none"});
      if (!config.logs_in_output) argv.insert(argv.end(), {"--log-level", "warn"});
    }
    nodes_[k] = std::make_unique<NodeProcess>(argv, output);
  }
}

LocalNodes::~LocalNodes() {
  for (uint32_t k = 0; k < nodes_.size(); ++k) {
    nodes_[k].reset();
    std::filesystem::remove(Control(k));  // a killed node leaves its socket
  }
}

std::string LocalNodes::Control(uint32_t node) const {
  return control_ + std::to_string(node) + ".sock";
}

nlohmann::json LocalNodes::Request(uint32_t node, const nlohmann::json& request) const {
  std::optional<nlohmann::json> answer = RequestNode(Control(node), request);
  if (!answer) throw Error(fmt::format("no node listens on {}", Control(node)));
  return *answer;
}

nlohmann::json LocalNodes::Ask(uint32_t node, const nlohmann::json& request) const {
  return AskNode(Control(node), request);
}

std::string LocalNodes::Refusal(uint32_t node, const nlohmann::json& request) const {
  try {
    Ask(node, request);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<uint32_t> LocalNodes::VcpusOf(uint32_t node) const {
  return Ask(node, {{"cmd", "status"}})["vcpus"].get<std::vector<uint32_t>>();
}

nlohmann::json LocalNodes::MigrateRequest(uint32_t vcpu, uint32_t to) {
  return {{"cmd", "migrate"}, {"vcpu", vcpu}, {"to", to}};
}

nlohmann::json LocalNodes::Migrate(uint32_t vcpu, uint32_t to) const {
  return Ask(0, MigrateRequest(vcpu, to));
}

}  // namespace ssivm::testing

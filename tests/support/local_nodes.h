// The node processes of one guest on this machine (a manifest of their own),
// each with its control socket, for tests that ask nodes for their status,
// move vCPUs, and freeze or kill nodes while the guest runs. Node 0 (the
// device node, the coordinator of moves) has the guest's console on its
// stdio; the others have none.
#ifndef SSIVM_TESTS_SUPPORT_LOCAL_NODES_H_
#define SSIVM_TESTS_SUPPORT_LOCAL_NODES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/node_process.h"

namespace ssivm::testing {

struct LocalNodesConfig {
  uint32_t nodes = 2;
  uint32_t vcpus_per_node = 1;
  // Every member has an initializer, so that a designated initializer may
  // leave any out (-Wmissing-field-initializers).
  std::string manifest_top{};             // more lines of the manifest's top table
  std::vector<uint64_t> memory_mib{};     // each node's, in id order (default 64)
  std::string node_lines{};               // more lines of every node's table
  std::vector<std::string> node0_args{};  // more options for node 0
  // Every node's log (info) in its output, for tests that check what a node
  // reported; else node 0 logs at info and the others at warn, to the
  // test's stderr.
  bool logs_in_output = false;
};

class LocalNodes {
 public:
  // `name` names the manifest and the control sockets; node k listens on
  // `port` + k.
  LocalNodes(const std::string& name, uint16_t port, const std::string& cmdline,
             const LocalNodesConfig& config);
  // Node 0 first: the others then follow its stop.
  ~LocalNodes();
  LocalNodes(const LocalNodes&) = delete;
  LocalNodes& operator=(const LocalNodes&) = delete;

  NodeProcess& node(uint32_t id) { return *nodes_.at(id); }
  NodeProcess& node0() { return node(0); }
  std::string Control(uint32_t node) const;
  // The node's answer as it is, {"error": ...} included; Error if no node
  // listens or the connection ends without an answer.
  nlohmann::json Request(uint32_t node, const nlohmann::json& request) const;
  // The answer; an {"error": ...} answer throws Error.
  nlohmann::json Ask(uint32_t node, const nlohmann::json& request) const;
  // The error a request is answered with ("" if none).
  std::string Refusal(uint32_t node, const nlohmann::json& request) const;
  // The vCPUs the node runs now.
  std::vector<uint32_t> VcpusOf(uint32_t node) const;
  static nlohmann::json MigrateRequest(uint32_t vcpu, uint32_t to);
  // Asks node 0 to move `vcpu` to node `to`; its answer once the move is done.
  nlohmann::json Migrate(uint32_t vcpu, uint32_t to) const;

 private:
  const std::string control_;  // Unix socket paths are short: not under TEST_TMPDIR
  std::vector<std::unique_ptr<NodeProcess>> nodes_;  // index = node id
};

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_LOCAL_NODES_H_

#include "tools/ssictl/vcpu_cmd.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/node/control_client.h"
#include "tools/ssictl/cluster_hosts.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

// Node 0 answers once the move is done: it allows itself up to 60 s.
constexpr auto kAnswerTimeout = std::chrono::seconds(65);
// Through ssh: connecting too, and some slack for the remote side.
constexpr auto kRemoteSlack = std::chrono::seconds(10);

nlohmann::json AskLocalNode0(const std::string& name, const nlohmann::json& request) {
  const RunState vm = SelectOneVm(name);
  const std::string& socket = vm.control.at(0);
  std::optional<nlohmann::json> answer = RequestNode(socket, request, kAnswerTimeout);
  if (!answer) {
    throw Error(
        fmt::format("VM {}: node 0 is not running (nothing listens on {})", vm.name, socket));
  }
  return *answer;
}

nlohmann::json AskManifestNode0(const RemoteOptions& remote, const nlohmann::json& request) {
  const ClusterHosts c(remote.manifest, remote.access);
  const uint32_t node = c.manifest().DeviceNodeId();
  const auto timeout =
      kAnswerTimeout + kRemoteSlack + std::chrono::seconds(remote.access.ssh.connect_timeout_s);
  NodeAnswer a = c.Request(node, request, timeout);
  if (a.status.is_object()) return a.status;
  if (a.kind == NodeAnswer::kNotRunning) {
    throw Error(
        fmt::format("cluster {}: {} is not running", c.manifest().cluster_id, c.NodeLabel(node)));
  }
  throw Error(a.problem);
}

}  // namespace

int VcpuCommand(const VcpuRequest& request, const std::string& name, const RemoteOptions& remote,
                FILE* out) {
  const nlohmann::json req = RequestJson(request);
  const nlohmann::json answer =
      remote.manifest.empty() ? AskLocalNode0(name, req) : AskManifestNode0(remote, req);
  if (remote.json) std::fprintf(out, "%s\n", answer.dump(2).c_str());
  const std::string line = DescribeAnswer(request, answer);  // an error answer throws
  if (!remote.json) std::fprintf(out, "%s\n", line.c_str());
  return 0;
}

}  // namespace ssivm

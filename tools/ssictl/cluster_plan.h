// Where and how each node of a manifest runs when ssictl operates real hosts
// (`ssictl up|status|down --manifest`): the hosts and their nodes, the files
// on each host, the command lines run there, and whether `up` may start;
// and the manifest `ssictl up --nodes N` writes for nodes on this machine.
// Pure logic: remote_cluster.cc and cluster_up.cc do the I/O.
#ifndef SSIVM_TOOLS_SSICTL_CLUSTER_PLAN_H_
#define SSIVM_TOOLS_SSICTL_CLUSTER_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "provision/manifest/manifest.h"
#include "tools/ssictl/cluster_up.h"
#include "tools/ssictl/up.h"

namespace ssivm {

// A host and the nodes that run there, in manifest order.
struct PlannedHost {
  std::string host;
  std::vector<uint32_t> nodes;  // node ids
  uint64_t memory_mib = 0;      // their guest RAM together
};
std::vector<PlannedHost> GroupByHost(const provision::ClusterManifest& m);

// The default directory on a remote host: /var/lib/ssivm/<cluster_id>.
std::string DefaultRemoteDir(const std::string& cluster_id);

// Files of one host's directory.
struct HostFiles {
  std::string dir;
  std::string manifest() const { return dir + "/cluster.toml"; }
  std::string kernel() const { return dir + "/guest-kernel"; }
  std::string initrd() const { return dir + "/guest-initrd"; }
  std::string control(uint32_t node) const {
    return dir + "/node" + std::to_string(node) + ".sock";
  }
  std::string pidfile(uint32_t node) const { return dir + "/node" + std::to_string(node) + ".pid"; }
  std::string log(uint32_t node) const { return dir + "/node" + std::to_string(node) + ".log"; }
};

// The manifest as a host gets it: guest.kernel/initrd at the pushed copies.
provision::ClusterManifest PushedManifest(provision::ClusterManifest m, const HostFiles& files);

// The sh command that starts node `node` there. In the foreground it
// becomes the node process (pid file = the shell's pid, then exec); detached,
// it starts the node in a session of its own, logging to the host's log
// file, and returns at once. `placement` ("on"/"off", `ssictl up
// --placement`) overrides the manifest's; empty: the manifest's.
std::string StartCommand(const std::string& ssivm, const HostFiles& files, uint32_t node,
                         const std::string& console, bool detach,
                         const std::string& placement = "");

// `ssivm --query CMD --control SOCKET` as an sh command.
std::string QueryCommand(const std::string& ssivm, const HostFiles& files, uint32_t node,
                         const std::string& cmd);

// Succeeds (exit 0) while the process of the node's pid file lives.
std::string AliveCommand(const HostFiles& files, uint32_t node);

// Kills the node named by its pid file (if that process still runs ssivm).
std::string KillCommand(const HostFiles& files, uint32_t node);

// The manifest `ssictl up --nodes N` writes for its node processes on this
// machine: cluster `name`, node K "nodeK" on localhost at addresses[K] with
// `opt`'s vCPUs and memory each, the guest of `up` (with `kernel`, the one
// located), and placement as `up` says (on if not given), so every node
// has it.
provision::ClusterManifest LocalManifest(const std::string& name, const std::string& kernel,
                                         const UpOptions& up, const ClusterUpOptions& opt,
                                         const std::vector<std::string>& addresses);

// What a node's control query said.
struct NodeState {
  uint32_t node = 0;
  std::string host;
  bool running = false;
  std::optional<uint64_t> epoch;  // of a running node, if it reported one
};

struct UpDecision {
  enum Kind { kStart, kAlreadyRunning, kRefuse };
  Kind kind = kStart;
  std::string message;
};

// Start only if no node runs. Every node running the manifest's epoch is
// "already running"; anything else (some nodes running, another epoch) is
// refused: a live membership change is the hot-add work, and restarting a
// running guest is the admin's decision.
UpDecision DecideUp(const provision::ClusterManifest& m, const std::vector<NodeState>& states);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_CLUSTER_PLAN_H_

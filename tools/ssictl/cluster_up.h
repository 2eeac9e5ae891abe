// `ssictl up --nodes N`: one guest across N node processes on this machine,
// each in its own network namespace (or on loopback ports).
#ifndef SSIVM_TOOLS_SSICTL_CLUSTER_UP_H_
#define SSIVM_TOOLS_SSICTL_CLUSTER_UP_H_

#include <cstdint>
#include <string>

namespace ssivm {

struct ClusterUpOptions {
  uint32_t nodes = 2;
  uint32_t vcpus_per_node = 1;
  uint64_t memory_per_node_mib = 128;
  std::string net = "netns";  // "netns" or "loopback"
  std::string kernel;         // empty: the bundled guest
  std::string initrd;
  std::string cmdline;
  std::string console = "stdio";
  std::string ssivm;  // empty: located next to ssictl
  std::string name;   // the cluster id; empty: local-<tag>
};

// A free TCP port on 127.0.0.1 (bound and released: another process could
// take it in between, which the node's bind then reports).
uint16_t FreeLoopbackPort();

// Writes the manifest, creates the hosts, starts every node, waits for the
// guest to stop, removes everything; returns node 0's exit status.
int UpCluster(const ClusterUpOptions& options);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_CLUSTER_UP_H_

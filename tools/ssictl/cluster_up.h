// `ssictl up --nodes N`: one guest across N node processes on this machine,
// each in its own network namespace (or on loopback ports).
#ifndef SSIVM_TOOLS_SSICTL_CLUSTER_UP_H_
#define SSIVM_TOOLS_SSICTL_CLUSTER_UP_H_

#include <cstdint>
#include <string>

#include "tools/ssictl/up.h"

namespace ssivm {

// What `--nodes` adds to the options of `ssictl up` (UpOptions: kernel,
// initrd, cmdline, console, ssivm binary, name).
struct ClusterUpOptions {
  uint32_t nodes = 2;
  uint32_t vcpus_per_node = 1;
  uint64_t memory_per_node_mib = 128;
  uint64_t cache_mib = 0;           // every node's `cache_mib` in the manifest; 0: automatic
  std::string net = "netns";        // "netns" or "loopback"
  bool insecure_transport = false;  // transport_security = "none": no secret
};

// A free TCP port on 127.0.0.1 (bound and released: another process could
// take it in between, which the node's bind then reports).
uint16_t FreeLoopbackPort();

// Writes the manifest, creates the hosts, starts every node, waits for the
// guest to stop, removes everything; returns node 0's exit status.
int UpCluster(const UpOptions& up, const ClusterUpOptions& options);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_CLUSTER_UP_H_

// Generating a manifest from a host list, and membership edits.
#ifndef SSIVM_PROVISION_MANIFEST_EDIT_H_
#define SSIVM_PROVISION_MANIFEST_EDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "provision/manifest/manifest.h"

namespace ssivm::provision {

struct NewManifestOptions {
  std::string cluster_id = "ssivm";
  uint32_t vcpus_per_node = 1;
  uint64_t memory_per_node_mib = 256;
  uint64_t cache_mib = 0;  // every node's `cache_mib`; 0: automatic
  uint16_t port = kDefaultPort;
  std::string kernel;
  std::string initrd;
  std::string cmdline;
};

// A manifest for hosts, in order: node i has id i, name and host hosts[i],
// address hosts[i]:port and vCPUs i*K..i*K+K-1; all vCPUs start online;
// epoch 1. Deterministic. Throws ssivm::Error if the result is invalid.
ClusterManifest NewManifest(const std::vector<std::string>& hosts, const NewManifestOptions& opt);

struct AddNodeOptions {
  std::string name;         // empty: the host
  uint32_t vcpus = 0;       // 0: as many as the node with the highest id
  uint64_t memory_mib = 0;  // 0: as much as the node with the highest id
  // `cache_mib`; nullopt: the one of the node with the highest id (0:
  // automatic).
  std::optional<uint64_t> cache_mib;
  uint16_t port = kDefaultPort;
};

// Adds a node on host: id = highest id + 1 (or the lowest free id once 63 is
// taken), new vCPUs appended after the last one (vcpus_total grows; if all
// vCPUs were online, the new ones are too), epoch + 1. Existing nodes keep
// their ids and ranges. Throws ssivm::Error if the name, host address or id
// space is taken.
void AddNode(ClusterManifest* m, const std::string& host, const AddNodeOptions& opt);

// Removes the node named name, as a drain does: the guest keeps its size.
// The node's vCPU range and memory go to the node whose range ends right
// before it (or, for the node hosting vCPU 0, the one starting right after),
// so ranges stay contiguous (an explicit `cache_mib` of that node grows to
// the minimum for its new vCPUs if it was less); epoch + 1; remaining ids unchanged. Returns the
// name of the node that took over. Throws if name is unknown or it is the
// only node.
std::string RemoveNode(ClusterManifest* m, const std::string& name);

// Makes m's membership match hosts, as a re-run generator must (OSCAR re-runs
// api-post-clientdef on every node add and delete): nodes whose host is not
// in hosts are removed (RemoveNode), listed hosts without a node are added in
// list order (AddNode with opt), every other node is left alone. The epoch
// grows by exactly one if anything changed. Returns one line per change
// ("removed n2", "added n5"); empty if nothing changed.
std::vector<std::string> SyncHosts(ClusterManifest* m, const std::vector<std::string>& hosts,
                                   const AddNodeOptions& opt);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_MANIFEST_EDIT_H_

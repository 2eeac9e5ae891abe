// What one node process is in its cluster, derived from the manifest: its
// peers' addresses, which vCPUs it runs, who is home of which memory.
#ifndef SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_
#define SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_view.h"
#include "dsm/protocol/message.h"
#include "dsm/transport/tcp_transport.h"
#include "provision/manifest/manifest.h"

namespace ssivm {

struct ClusterRole {
  dsm::NodeId self = 0;
  uint32_t node_count = 1;
  uint64_t cluster_key = 0;  // the handshake's cluster id: a hash of the manifest's
  uint64_t epoch = 0;
  std::vector<dsm::NodeAddress> addresses;  // index = node id
  std::vector<dsm::NodeId> vcpu_node;       // index = vCPU, at boot
  // Membership as the link keeps it up to date (vCPU locations included).
  cluster::ClusterView view;
  std::vector<uint64_t> node_bytes;  // memory each node contributes
  uint32_t vcpus = 0;
  uint64_t memory_mib = 0;

  bool runs(uint32_t vcpu) const { return vcpu_node.at(vcpu) == self; }
  bool device_node() const { return self == 0; }
};

// Throws Error naming the problem (unknown node id, node ids not 0..N-1, an
// address that is not IPv4, ...).
ClusterRole RoleFromManifest(const provision::ClusterManifest& manifest, uint32_t node_id);

// FNV-1a of the cluster id: both ends of a connection must agree on it.
uint64_t ClusterKey(const std::string& cluster_id);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_

// What one node process is in its cluster, derived from the manifest: its
// peers' addresses, which vCPUs it runs, who is home of which memory.
#ifndef SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_
#define SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_view.h"
#include "cluster/transport/transport.h"
#include "provision/manifest/manifest.h"

namespace ssivm {

// What this node is (`self`) in the cluster `view` describes, as of the
// start: the vectors below are the view's forms for the TCP transport and
// the home map, which still need node ids 0..N-1. Once running, the live
// view is ClusterLink's (ApplyViewChange); this one does not follow it.
struct ClusterRole {
  cluster::NodeId self = 0;
  uint64_t cluster_key = 0;  // the handshake's cluster id: a hash of the manifest's
  cluster::ClusterView view;

  uint32_t node_count() const { return view.member_count(); }
  uint32_t vcpus() const { return view.vcpu_count(); }
  uint64_t epoch() const { return view.epoch(); }
  bool runs(uint32_t vcpu) const { return view.NodeOfVcpu(vcpu) == self; }
  bool device_node() const { return self == 0; }
  std::vector<cluster::NodeAddress> addresses() const;  // index = node id
  std::vector<uint64_t> node_bytes() const;             // memory each node contributes
  std::vector<cluster::NodeId> vcpu_node() const;       // index = vCPU
};

// Throws Error naming the problem (unknown node id, node ids not 0..N-1, an
// address that is not IPv4, ...).
ClusterRole RoleFromManifest(const provision::ClusterManifest& manifest, uint32_t node_id);

// FNV-1a of the cluster id: both ends of a connection must agree on it.
uint64_t ClusterKey(const std::string& cluster_id);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_

// What one node process is in its cluster, derived from the manifest: its
// peers' addresses, which vCPUs it runs, who is home of which memory.
#ifndef SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_
#define SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_view.h"
#include "cluster/transport/transport.h"
#include "provision/manifest/manifest.h"

namespace ssivm {

// What this node is (`self`) in the cluster `view` describes, as of the
// start (node ids may be sparse: `ssictl node remove` leaves gaps). Once
// running, the live view is ClusterLink's (ApplyViewChange); this one does
// not follow it.
struct ClusterRole {
  cluster::NodeId self = 0;
  uint64_t cluster_key = 0;  // the handshake's cluster id: a hash of the manifest's
  cluster::ClusterView view;
  // The manifest's; the secret is read from beside it (LoadRoleSecret).
  cluster::TransportSecurity security = cluster::TransportSecurity::kNone;
  cluster::ClusterSecret secret{};
  // A peer silent this long is lost; a fault or forwarded I/O waiting this
  // long is reported.
  std::chrono::milliseconds heartbeat_timeout{5000};
  // The coordinator moves vCPUs by itself (the manifest's `placement`;
  // `ssivm --placement` overrides it).
  bool placement = true;
  // This node's `cache_mib` in the manifest: MiB of other nodes' guest RAM
  // it may keep resident; 0: automatic (cache_budget.h).
  uint64_t cache_mib = 0;
  // The effective cache budget in guest pages, which PrepareGuest decides
  // (CacheBudgetMib) and the DSM keeps to; 0 until then.
  uint64_t cache_pages = 0;

  uint32_t node_count() const { return view.member_count(); }
  uint32_t vcpus() const { return view.vcpu_count(); }
  uint64_t epoch() const { return view.epoch(); }
  bool runs(uint32_t vcpu) const { return view.NodeOfVcpu(vcpu) == self; }
  // The lowest id hosts the devices and loads the guest.
  cluster::NodeId device_node_id() const { return view.members().front().id; }
  bool device_node() const { return self == device_node_id(); }
  std::vector<cluster::NodeAddress> addresses() const;  // ascending ids
  std::vector<cluster::NodeId> member_ids() const;      // ascending
  std::vector<cluster::NodeId> vcpu_node() const;       // index = vCPU
  // The guest sees its nodes as 0..N-1 (like NUMA nodes): a member's rank in
  // id order.
  uint32_t GuestNodeOf(cluster::NodeId id) const;
};

// Throws Error naming the problem (unknown node id, an address that is not
// IPv4, a manifest field this node cannot honour, ...).
ClusterRole RoleFromManifest(const provision::ClusterManifest& manifest, uint32_t node_id);

// Reads the cluster secret beside the manifest at `manifest_path` into
// `role`, unless its transport runs without security. Throws Error naming
// the file and the problem.
void LoadRoleSecret(ClusterRole& role, const std::string& manifest_path);

// FNV-1a of the cluster id: both ends of a connection must agree on it.
uint64_t ClusterKey(const std::string& cluster_id);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CLUSTER_ROLE_H_

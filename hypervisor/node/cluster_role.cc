#include "hypervisor/node/cluster_role.h"

#include <algorithm>

#include <fmt/format.h>

#include "cluster/cluster_view.h"
#include "common/error.h"
#include "guest/abi/page.h"
#include "provision/manifest/secret.h"

namespace ssivm {

uint64_t ClusterKey(const std::string& cluster_id) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : cluster_id) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::vector<cluster::NodeAddress> ClusterRole::addresses() const {
  std::vector<cluster::NodeAddress> out;
  for (const cluster::Member& m : view.members()) out.push_back({m.id, m.host, m.port});
  return out;
}

std::vector<cluster::NodeId> ClusterRole::member_ids() const {
  std::vector<cluster::NodeId> out;
  for (const cluster::Member& m : view.members()) out.push_back(m.id);
  return out;
}

uint32_t ClusterRole::GuestNodeOf(cluster::NodeId id) const {
  const std::vector<cluster::NodeId> ids = member_ids();
  const auto it = std::find(ids.begin(), ids.end(), id);
  if (it == ids.end()) throw Error(fmt::format("node {} is not a member", id));
  return static_cast<uint32_t>(it - ids.begin());
}

std::vector<cluster::NodeId> ClusterRole::vcpu_node() const {
  std::vector<cluster::NodeId> out;
  for (uint32_t v = 0; v < vcpus(); ++v) out.push_back(view.NodeOfVcpu(v));
  return out;
}

ClusterRole RoleFromManifest(const provision::ClusterManifest& m, uint32_t node_id) {
  ClusterRole r;
  if (m.FindNode(node_id) == nullptr) {
    throw Error(
        fmt::format("node {} is not in the manifest of cluster '{}'", node_id, m.cluster_id));
  }
  // Fields the manifest format allows but this node process cannot honour
  // yet: refused, never ignored.
  if (m.guest.vcpus_online != m.guest.vcpus_total) {
    throw Error(fmt::format(
        "guest.vcpus_online = {} with vcpus_total = {}: this ssivm starts every vCPU online "
        "(no CPU hotplug yet); set vcpus_online = vcpus_total or leave it out",
        m.guest.vcpus_online, m.guest.vcpus_total));
  }
  if (m.guest.page_size_kib != abi::kPageSize / 1024) {
    throw Error(fmt::format(
        "guest.page_size_kib = {}: this ssivm backs and pages guest memory in {} KiB pages "
        "only (no huge-page backing yet); set page_size_kib = {} or leave it out",
        m.guest.page_size_kib, abi::kPageSize / 1024, abi::kPageSize / 1024));
  }
  r.self = node_id;
  r.cluster_key = ClusterKey(m.cluster_id);
  r.view = cluster::ClusterView::FromManifest(m);
  r.security = m.transport_security;
  r.heartbeat_timeout = std::chrono::milliseconds(m.heartbeat_timeout_ms);
  r.placement = m.placement;
  r.cache_mib = m.FindNode(node_id)->cache_mib;
  return r;
}

void LoadRoleSecret(ClusterRole& role, const std::string& manifest_path) {
  if (role.security == cluster::TransportSecurity::kNone) return;
  role.secret = provision::LoadSecret(provision::SecretPath(manifest_path));
}

}  // namespace ssivm

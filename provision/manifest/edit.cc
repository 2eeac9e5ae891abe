#include "provision/manifest/edit.h"

#include <algorithm>

#include "common/error.h"
#include "provision/manifest/address.h"

namespace ssivm::provision {

ClusterManifest NewManifest(const std::vector<std::string>& hosts, const NewManifestOptions& opt) {
  if (hosts.empty()) throw Error("no hosts given");
  if (hosts.size() > kMaxNodes) {
    throw Error(std::to_string(hosts.size()) + " hosts; a cluster has at most " +
                std::to_string(kMaxNodes) + " nodes");
  }
  if (opt.vcpus_per_node == 0) throw Error("--vcpus-per-node must be at least 1");
  if (uint64_t{opt.vcpus_per_node} * hosts.size() > kMaxVcpus) {
    throw Error(std::to_string(hosts.size()) + " nodes x " + std::to_string(opt.vcpus_per_node) +
                " vCPUs is more than " + std::to_string(kMaxVcpus) + " vCPUs");
  }
  if (std::string e = CacheMibProblem(opt.cache_mib, opt.vcpus_per_node); !e.empty()) {
    throw Error("--cache-mib " + e);
  }
  ClusterManifest m;
  m.cluster_id = opt.cluster_id;
  m.epoch = 1;
  m.guest.kernel = opt.kernel;
  m.guest.initrd = opt.initrd;
  m.guest.cmdline = opt.cmdline;
  m.guest.vcpus_total = static_cast<uint32_t>(opt.vcpus_per_node * hosts.size());
  m.guest.vcpus_online = m.guest.vcpus_total;
  for (size_t i = 0; i < hosts.size(); ++i) {
    Node n;
    n.id = static_cast<uint32_t>(i);
    n.name = hosts[i];
    n.host = hosts[i];
    n.address = FormatAddress(hosts[i], opt.port);
    n.vcpus.first = static_cast<uint32_t>(i * opt.vcpus_per_node);
    n.vcpus.last = n.vcpus.first + opt.vcpus_per_node - 1;
    n.memory_mib = opt.memory_per_node_mib;
    n.cache_mib = opt.cache_mib;
    m.nodes.push_back(std::move(n));
  }
  ThrowIfInvalid(m, "generated manifest");
  return m;
}

void AddNode(ClusterManifest* m, const std::string& host, const AddNodeOptions& opt) {
  if (std::string e = CheckHost(host); !e.empty()) throw Error("host '" + host + "': " + e);
  if (m->nodes.size() >= kMaxNodes) {
    throw Error("the cluster already has " + std::to_string(kMaxNodes) + " nodes");
  }
  Node n;
  n.name = opt.name.empty() ? host : opt.name;
  n.host = host;
  n.address = FormatAddress(host, opt.port);
  if (m->FindNodeByName(n.name)) throw Error("a node named '" + n.name + "' already exists");
  for (const Node& other : m->nodes) {
    if (other.address == n.address) {
      throw Error("node '" + other.name + "' already uses address " + n.address +
                  " (choose another --port)");
    }
  }
  const Node* last = nullptr;
  for (const Node& other : m->nodes) {
    if (last == nullptr || other.id > last->id) last = &other;
  }
  n.id = last ? last->id + 1 : 0;
  if (n.id >= kMaxNodes) {  // ids are never renumbered: reuse the lowest free one
    n.id = 0;
    while (m->FindNode(n.id)) ++n.id;
  }
  uint32_t vcpus = opt.vcpus ? opt.vcpus : (last ? last->vcpus.count() : 1);
  n.memory_mib = opt.memory_mib ? opt.memory_mib : (last ? last->memory_mib : 256);
  n.cache_mib = opt.cache_mib.value_or(last ? last->cache_mib : 0);
  n.vcpus.first = m->guest.vcpus_total;
  n.vcpus.last = m->guest.vcpus_total + vcpus - 1;
  ClusterManifest next = *m;
  bool all_online = next.guest.vcpus_online == next.guest.vcpus_total;
  next.guest.vcpus_total += vcpus;
  if (all_online) next.guest.vcpus_online = next.guest.vcpus_total;
  next.epoch += 1;
  next.nodes.push_back(std::move(n));
  ThrowIfInvalid(next, "manifest after adding " + host);
  *m = std::move(next);
}

std::string RemoveNode(ClusterManifest* m, const std::string& name) {
  auto it =
      std::find_if(m->nodes.begin(), m->nodes.end(), [&](const Node& n) { return n.name == name; });
  if (it == m->nodes.end()) {
    std::string names;
    for (const Node& n : m->nodes) names += (names.empty() ? "" : ", ") + n.name;
    throw Error("no node named '" + name + "' (nodes: " + names + ")");
  }
  if (m->nodes.size() == 1) throw Error("cannot remove '" + name + "': it is the only node");
  ClusterManifest next = *m;
  size_t gone = static_cast<size_t>(it - m->nodes.begin());
  VcpuRange r = next.nodes[gone].vcpus;
  Node* heir = nullptr;
  for (Node& n : next.nodes) {
    if (r.first > 0 && n.vcpus.last + 1 == r.first) heir = &n;
  }
  if (heir == nullptr) {
    for (Node& n : next.nodes) {
      if (n.vcpus.first == r.last + 1) heir = &n;
    }
  }
  if (heir == nullptr) throw Error("cannot remove '" + name + "': its vCPU range has no neighbour");
  heir->vcpus.first = std::min(heir->vcpus.first, r.first);
  heir->vcpus.last = std::max(heir->vcpus.last, r.last);
  heir->memory_mib += next.nodes[gone].memory_mib;
  if (heir->cache_mib != 0) {
    heir->cache_mib = std::max(heir->cache_mib, MinCacheMib(heir->vcpus.count()));
  }
  std::string heir_name = heir->name;
  next.nodes.erase(next.nodes.begin() + static_cast<long>(gone));
  next.epoch += 1;
  ThrowIfInvalid(next, "manifest after removing " + name);
  *m = std::move(next);
  return heir_name;
}

std::vector<std::string> SyncHosts(ClusterManifest* m, const std::vector<std::string>& hosts,
                                   const AddNodeOptions& opt) {
  ClusterManifest next = *m;
  std::vector<std::string> changes;
  std::vector<std::string> gone;
  for (const Node& n : next.nodes) {
    if (std::find(hosts.begin(), hosts.end(), n.host) == hosts.end()) gone.push_back(n.name);
  }
  // Removing every node at once would leave none to inherit the vCPUs: add
  // the new hosts first, then remove.
  for (const std::string& host : hosts) {
    bool present = std::any_of(next.nodes.begin(), next.nodes.end(),
                               [&](const Node& n) { return n.host == host; });
    if (present) continue;
    AddNode(&next, host, opt);
    changes.push_back("added " + next.nodes.back().name + " (id " +
                      std::to_string(next.nodes.back().id) + ")");
  }
  for (const std::string& name : gone) {
    std::string heir = RemoveNode(&next, name);
    changes.push_back("removed " + name + " (its vCPUs and memory went to " + heir + ")");
  }
  if (!changes.empty()) {
    next.epoch = m->epoch + 1;
    *m = std::move(next);
  }
  return changes;
}

}  // namespace ssivm::provision

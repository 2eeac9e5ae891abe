#include "cluster/cluster_view.h"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "provision/manifest/address.h"

namespace ssivm::cluster {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

Member MemberFromManifest(const provision::Node& n) {
  provision::Address a;
  std::string why;
  if (!provision::ParseAddress(n.address, &a, &why)) {
    throw Error(fmt::format("node {} address '{}': {}", n.id, n.address, why));
  }
  in_addr probe{};
  if (::inet_pton(AF_INET, a.host.c_str(), &probe) != 1) {
    throw Error(fmt::format("node {} address '{}': the TCP transport needs an IPv4 address", n.id,
                            n.address));
  }
  return {n.id, n.name, a.host, a.port, n.memory_mib * kMiB};
}

}  // namespace

ClusterView ClusterView::FromManifest(const provision::ClusterManifest& m) {
  if (m.nodes.empty()) throw Error(fmt::format("cluster '{}' has no node", m.cluster_id));
  ClusterView v;
  v.epoch_ = m.epoch;
  constexpr NodeId kNobody = ~NodeId{0};
  v.vcpu_node_.assign(m.guest.vcpus_total, kNobody);
  for (const provision::Node& n : m.nodes) {
    if (!v.members_.emplace(n.id, MemberFromManifest(n)).second) {
      throw Error(fmt::format("node id {} appears twice", n.id));
    }
    for (uint32_t c = n.vcpus.first; c <= n.vcpus.last; ++c) {
      if (c >= v.vcpu_node_.size()) {
        throw Error(fmt::format("node {} hosts vCPU {}, but the guest has {} vCPUs", n.id, c,
                                v.vcpu_node_.size()));
      }
      if (v.vcpu_node_[c] != kNobody) {
        throw Error(fmt::format("vCPU {} is on nodes {} and {}", c, v.vcpu_node_[c], n.id));
      }
      v.vcpu_node_[c] = n.id;
    }
  }
  for (uint32_t c = 0; c < v.vcpu_node_.size(); ++c) {
    if (v.vcpu_node_[c] == kNobody) throw Error(fmt::format("no node hosts vCPU {}", c));
  }
  return v;
}

ClusterView ClusterView::OneNode(uint32_t vcpus, uint64_t memory_bytes) {
  ClusterView v;
  v.members_.emplace(0, Member{0, "local", "", 0, memory_bytes});
  v.vcpu_node_.assign(vcpus, 0);
  return v;
}

std::vector<Member> ClusterView::members() const {
  std::vector<Member> out;
  for (const auto& [id, m] : members_) out.push_back(m);
  return out;
}

const Member* ClusterView::Find(NodeId id) const {
  const auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

NodeId ClusterView::NodeOfVcpu(uint32_t vcpu) const {
  if (vcpu >= vcpu_node_.size()) {
    throw Error(fmt::format("no vCPU {} (the guest has {})", vcpu, vcpu_node_.size()));
  }
  return vcpu_node_[vcpu];
}

std::vector<uint32_t> ClusterView::VcpusOf(NodeId id) const {
  std::vector<uint32_t> out;
  for (uint32_t c = 0; c < vcpu_node_.size(); ++c) {
    if (vcpu_node_[c] == id) out.push_back(c);
  }
  return out;
}

std::vector<std::pair<NodeId, uint64_t>> ClusterView::Contributions() const {
  std::vector<std::pair<NodeId, uint64_t>> out;
  for (const auto& [id, m] : members_) out.emplace_back(id, m.memory_bytes);
  return out;
}

uint64_t ClusterView::TotalMemoryBytes() const {
  uint64_t total = 0;
  for (const auto& [id, m] : members_) total += m.memory_bytes;
  return total;
}

void ClusterView::Check(const AddMember& c) const {
  const Member& m = c.member;
  if (members_.count(m.id) != 0 ||
      std::find(removed_.begin(), removed_.end(), m.id) != removed_.end()) {
    throw Error(fmt::format("node id {} is or was a member; ids are never reused", m.id));
  }
  for (const auto& [id, other] : members_) {
    if (other.host == m.host && other.port == m.port) {
      throw Error(fmt::format("node {}'s address {}:{} is node {}'s", m.id, m.host, m.port, id));
    }
  }
}

void ClusterView::Check(const RemoveMember& c) const {
  if (members_.count(c.id) == 0) throw Error(fmt::format("node {} is not a member", c.id));
  if (members_.size() == 1) throw Error(fmt::format("node {} is the last member", c.id));
  if (const auto vcpus = VcpusOf(c.id); !vcpus.empty()) {
    throw Error(fmt::format("node {} still runs {} vCPU(s) (first: {}); move them first", c.id,
                            vcpus.size(), vcpus.front()));
  }
}

void ClusterView::Check(const MoveVcpu& c) const {
  NodeOfVcpu(c.vcpu);  // throws for an unknown vCPU
  if (members_.count(c.to) == 0) {
    throw Error(fmt::format("vCPU {} cannot move to node {}: not a member", c.vcpu, c.to));
  }
}

void ClusterView::Do(const AddMember& c) {
  members_.emplace(c.member.id, c.member);
}

void ClusterView::Do(const RemoveMember& c) {
  members_.erase(c.id);
  removed_.push_back(c.id);
}

void ClusterView::Do(const MoveVcpu& c) {
  vcpu_node_[c.vcpu] = c.to;
}

void ClusterView::Apply(const ViewChange& change) {
  if (change.epoch != epoch_) {
    throw Error(
        fmt::format("a change decided on epoch {} cannot apply to epoch {}", change.epoch, epoch_));
  }
  std::visit([this](const auto& c) { Check(c); }, change.what);
  std::visit([this](const auto& c) { Do(c); }, change.what);
  ++epoch_;
}

}  // namespace ssivm::cluster

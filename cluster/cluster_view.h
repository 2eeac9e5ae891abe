// Who is in the cluster, as every node sees it: the members (sparse node ids,
// never renumbered), their transport addresses and memory contributions, and
// which node runs each vCPU; versioned by an epoch that every change bumps.
// Pure logic: no sockets, no threads, no KVM. Changes come as ViewChange
// values so that one node can decide them and every node apply them in the
// same order (hot-add, hot-remove and migration build on this).
#ifndef SSIVM_CLUSTER_CLUSTER_VIEW_H_
#define SSIVM_CLUSTER_CLUSTER_VIEW_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "provision/manifest/manifest.h"

namespace ssivm::cluster {

using NodeId = uint32_t;

struct Member {
  NodeId id = 0;
  std::string name;
  std::string host;  // transport address: IPv4 (the TCP transport's)
  uint16_t port = 0;
  uint64_t memory_bytes = 0;  // guest RAM this node contributes (is home of)
  bool operator==(const Member&) const = default;
};

// A node joins (hot-add): it hosts no vCPU until one moves to it.
struct AddMember {
  Member member;
};
// A node leaves (drain): it must run no vCPU any more; its id is not reused.
struct RemoveMember {
  NodeId id;
};
// A vCPU now runs on another node (migration).
struct MoveVcpu {
  uint32_t vcpu;
  NodeId to;
};
// `epoch` is the epoch of the view the change was decided on: a node applies
// it only to that view (so every node applies the same changes in the same
// order), and the view then has epoch + 1.
struct ViewChange {
  uint64_t epoch;
  std::variant<AddMember, RemoveMember, MoveVcpu> what;
};

class ClusterView {
 public:
  // Throws Error naming the problem: an address that is not IPv4:port,
  // vCPUs not covered by exactly one node, no node, duplicate ids.
  static ClusterView FromManifest(const provision::ClusterManifest& m);
  // A single node process: node 0 (no address: it has no peers) runs every
  // vCPU and holds all memory.
  static ClusterView OneNode(uint32_t vcpus, uint64_t memory_bytes);

  uint64_t epoch() const { return epoch_; }
  uint32_t vcpu_count() const { return static_cast<uint32_t>(vcpu_node_.size()); }
  // Members in id order.
  std::vector<Member> members() const;
  uint32_t member_count() const { return static_cast<uint32_t>(members_.size()); }
  const Member* Find(NodeId id) const;
  // The node that runs `vcpu`; Error if there is no such vCPU.
  NodeId NodeOfVcpu(uint32_t vcpu) const;
  std::vector<uint32_t> VcpusOf(NodeId id) const;
  // The guest's RAM split among the members, in id order (what the home map
  // lays over guest RAM): (node, bytes).
  std::vector<std::pair<NodeId, uint64_t>> Contributions() const;
  uint64_t TotalMemoryBytes() const;

  // Applies one change. Throws Error (and changes nothing) if it was decided
  // on another epoch or is not valid here: a member id or address already
  // used (ids of removed members included), removing a node that still runs
  // vCPUs or the last one, moving an unknown vCPU or to an unknown node.
  void Apply(const ViewChange& change);

 private:
  void Check(const AddMember& c) const;
  void Check(const RemoveMember& c) const;
  void Check(const MoveVcpu& c) const;
  void Do(const AddMember& c);
  void Do(const RemoveMember& c);
  void Do(const MoveVcpu& c);

  uint64_t epoch_ = 0;
  std::map<NodeId, Member> members_;
  std::vector<NodeId> vcpu_node_;  // index = vCPU
  std::vector<NodeId> removed_;    // ids never to be reused
};

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_CLUSTER_VIEW_H_

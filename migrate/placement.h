// Where each vCPU should run: the policy that moves a vCPU to the node whose
// memory it keeps pulling pages from, when that is cheaper than moving the
// pages (ARCHITECTURE.md "vCPU migration and placement"; the TidalScale
// idea). Pure logic: fed one window of the DSM's fault counts at a time (per
// vCPU, by the node each page came from), it answers which vCPUs to move and
// why. No KVM, no sockets, no threads, no clock: the caller sets the window.
//
// Hysteresis, so that vCPUs do not bounce:
//   - a move must save more than `gain_factor` times its cost in one window,
//     and at least `min_stall_share` of the window (a vCPU that loses less
//     of its time to remote faults keeps its node's CPU: else an idle guest's
//     few faults would gather every vCPU on one node),
//   - one node must draw most of the vCPU's remote faults (`min_share`),
//   - the same node must win `stable_windows` windows in a row,
//   - a vCPU that moved stays `cooldown_windows` windows.
// Pinned vCPUs go to their pin and stay there.
#ifndef SSIVM_MIGRATE_PLACEMENT_H_
#define SSIVM_MIGRATE_PLACEMENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ssivm::migrate {

using NodeId = uint32_t;  // as cluster::NodeId; the node fills Placement from its view

// Where things are now: the node each vCPU runs on (index = vCPU) and the
// nodes of the cluster.
struct Placement {
  std::vector<NodeId> vcpu_node;
  std::set<NodeId> nodes;
};

struct PlacementCosts {
  // The priors, until the running VM has measured its own (cost_model.h).
  // One remote read fault that moves a page (dsm_latency's remote read
  // median: ~40-50 us over loopback TCP, docs/benchmarks.md).
  double page_fault_us = 50;
  // Moving one vCPU: its downtime plus the faults it takes afterwards for
  // pages that were local before. Conservative: the measured downtime is
  // ~1 ms on loopback (docs/migration.md).
  double vcpu_move_us = 5000;
};

struct PlacementConfig {
  PlacementCosts costs;
  double window_us = 1'000'000;   // the time one window of faults covers, > 0
  double gain_factor = 2.0;       // >= 1
  double min_stall_share = 0.05;  // in [0, 1]
  double min_share = 0.6;         // in (0, 1]
  uint32_t stable_windows = 2;    // >= 1
  uint32_t cooldown_windows = 4;
  uint32_t max_vcpus_per_node = 0;  // 0: no limit

  // Throws Error naming the first bad value.
  void Validate() const;
};

// The remote faults one vCPU took in one window, by the node each page came
// from. Counts for the vCPU's own node are ignored.
struct VcpuFaults {
  uint32_t vcpu = 0;
  std::map<NodeId, uint64_t> from;
};

struct PlacementMove {
  uint32_t vcpu = 0;
  NodeId from = 0;
  NodeId to = 0;
  std::string why;  // for ssictl status: "pinned to node 2", "pulled 900 of 1000 pages ..."
  bool operator==(const PlacementMove&) const = default;
};

class PlacementPolicy {
 public:
  explicit PlacementPolicy(PlacementConfig config = {});

  // Admin pins: the vCPU goes to `node` (at the next Decide) and stays.
  // Throws Error for an unknown vCPU or node of `now`.
  void Pin(const Placement& now, uint32_t vcpu, NodeId node);
  void Unpin(uint32_t vcpu);
  std::optional<NodeId> PinnedTo(uint32_t vcpu) const;

  // One window: the faults of the vCPUs that took any (a vCPU listed twice
  // has its counts added). Returns the moves to make, largest gain first,
  // within `max_vcpus_per_node`; each starts that vCPU's cooldown (a move
  // that then fails is tried again after it). Throws Error, deciding
  // nothing, for a vCPU `now` does not have. Faults from nodes no longer
  // in `now` are not counted as anywhere to go.
  std::vector<PlacementMove> Decide(const Placement& now, const std::vector<VcpuFaults>& window);

  // A move made by someone else (an operator's `ssictl migrate`): the vCPU's
  // history starts again, with its cooldown.
  void Moved(uint32_t vcpu);

  // The costs as measured now (cost_model.h); throws Error, changing
  // nothing, for costs Validate refuses.
  void SetCosts(const PlacementCosts& costs);
  const PlacementCosts& costs() const { return config_.costs; }

 private:
  struct History {
    std::optional<NodeId> candidate;  // the node that won the last windows
    uint32_t streak = 0;
    uint32_t cooldown = 0;
  };
  // Where `vcpu` should go after this window, and why; nullopt: stay.
  std::optional<PlacementMove> Want(uint32_t vcpu, NodeId at,
                                    const std::map<NodeId, uint64_t>& from, const Placement& now,
                                    History& h) const;

  PlacementConfig config_;
  std::map<uint32_t, NodeId> pins_;
  std::map<uint32_t, History> history_;
};

}  // namespace ssivm::migrate

#endif  // SSIVM_MIGRATE_PLACEMENT_H_

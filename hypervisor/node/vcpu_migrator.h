// Live vCPU migration between the nodes of one VM (ARCHITECTURE.md, "vCPU
// migration and placement"). Every node has a KVM vCPU and a VcpuLoop for
// every vCPU of the guest; those another node runs stay parked. A move:
//
//   coordinator (node 0)  decides it on view epoch e, one move at a time:
//                         MigrateOut{id, vcpu, to, e} -> the source
//   source                pauses the vCPU; with the view locked (no interrupt
//                         routed meanwhile) captures its state and private
//                         slot, applies the view e+1 (vcpu on `to`) and sends
//                         the state as VcpuStatePart frames -> the target;
//                         interrupts that reach it later follow to the target,
//                         behind the state (FIFO per pair of nodes)
//   target                restores the vCPU, applies e+1, resumes it:
//                         VcpuMoved{downtime} -> every other node
//   every other node      applies e+1: ViewApplied -> the coordinator
//
// The move is done when the coordinator has the VcpuMoved and every node's
// ViewApplied; only then may the next one start, so every node applies the
// same changes in the same order. A node that dies or breaks the protocol
// meanwhile stops the VM naming it (the transport reports it lost): a vCPU
// runs on one node at most, and never on none without a report.
#ifndef SSIVM_HYPERVISOR_NODE_VCPU_MIGRATOR_H_
#define SSIVM_HYPERVISOR_NODE_VCPU_MIGRATOR_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/control_message.h"
#include "cluster/transport/transport.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/node/cluster_link.h"
#include "hypervisor/node/vcpu_loop.h"
#include "hypervisor/node/vm_stop.h"
#include "migrate/vcpu_capture.h"

namespace ssivm {

struct MigrationOutcome {
  uint32_t vcpu = 0;
  cluster::NodeId from = 0;
  cluster::NodeId to = 0;
  double downtime_us = 0;    // the vCPU ran nowhere (pause to resume)
  double total_us = 0;       // the whole move, every node's view included
  uint32_t state_bytes = 0;  // the encoded state that crossed the link
  // The downtime's phases: pause to encoded state (source), its transfer to
  // the last part's arrival, the target's restore up to the resume.
  double capture_us = 0;
  double transfer_us = 0;
  double restore_us = 0;
};

// What the coordinator knows of one vCPU (ssictl status).
struct VcpuPlacementState {
  uint32_t vcpu = 0;
  cluster::NodeId node = 0;  // from the view, when Placement() reports it
  uint32_t migrations = 0;
  std::optional<cluster::NodeId> pinned;
  std::string last_reason;  // empty: never moved
  double last_downtime_us = 0;
};

// What this node's side of the moves saw (status, and the log at the end).
struct MigrationCounters {
  uint64_t sent = 0;
  // Asked to move while it waited for a remote page (it is paused once the
  // page is in).
  uint64_t sent_while_faulting = 0;
  uint64_t received = 0;
};

struct MigratorConfig {
  cluster::NodeId self = 0;
  cluster::NodeId coordinator = 0;
  cluster::NodeId device_node = 0;
  // Carry the vCPU's node-private slot (the ssivm guest has one; Linux not).
  bool carry_slot = true;
  // A PVM host: an interrupt it holds for the guest (vIF off) lives in the
  // vIF cell and in PVM, not in the state KVM lets us capture.
  bool pvm = false;
  // A move that is not done by then stops the VM (its vCPU would be lost).
  std::chrono::milliseconds timeout{60000};
};

class VcpuMigrator {
 public:
  // `loops`: index = vCPU, one for every vCPU of the guest (parked where
  // another node runs it). `guest_node`: the guest's number of a node (its
  // vCPU -> node table in the boot info is kept up to date).
  // `waits_for_page`: whether a vCPU waits for a remote page now.
  VcpuMigrator(const MigratorConfig& config, ClusterLink& link, cluster::Transport& transport,
               const GuestMemory& mem, std::vector<VcpuLoop*> loops,
               migrate::CaptureFeatures features,
               std::function<uint8_t(cluster::NodeId)> guest_node,
               std::function<bool(uint32_t)> waits_for_page, VmStop& stop);
  ~VcpuMigrator();
  VcpuMigrator(const VcpuMigrator&) = delete;
  VcpuMigrator& operator=(const VcpuMigrator&) = delete;

  // Coordinator only. Moves `vcpu` to node `to` and waits until every node
  // routes by the new view. Throws Error naming the problem (and changes
  // nothing) for an unknown vCPU or node, a vCPU already there, pinned
  // elsewhere, or one the devices' interrupts need, another move in
  // progress, or a VM that stops. `why` is recorded (ssictl status).
  MigrationOutcome Migrate(uint32_t vcpu, cluster::NodeId to, const std::string& why);
  // Coordinator only: the operator's pins (placement never moves a pinned
  // vCPU; an operator's move of one to another node is refused). PinTo
  // moves the vCPU there first if it runs elsewhere (the outcome), and pins
  // it only once it is there: a refused move changes nothing.
  std::optional<MigrationOutcome> PinTo(uint32_t vcpu, cluster::NodeId node);
  void Unpin(uint32_t vcpu);
  std::vector<VcpuPlacementState> Placement() const;
  MigrationCounters counters() const;

  // The link's migration handler (the transport's receive thread): never
  // blocks; a message that breaks the protocol throws (the peer is lost).
  void OnMessage(cluster::NodeId from, const cluster::ControlMessage& m, const PageBuffer& page);
  // The VM stops: a waiting Migrate returns (with an error), the worker ends.
  void Stop();

 private:
  struct Move {
    uint64_t id = 0;
    uint32_t vcpu = 0;
    cluster::NodeId from = 0;
    cluster::NodeId to = 0;
    uint64_t epoch = 0;
    std::optional<cluster::VcpuMoved> moved;  // the target's report
    std::set<cluster::NodeId> acks_missing;
    std::string failure;  // the source refused it (nothing changed)
  };
  struct Incoming {
    uint64_t id = 0;
    uint32_t vcpu = 0;
    uint64_t epoch = 0;
    uint32_t total = 0;
    uint64_t paused_at_ns = 0;
    uint64_t captured_at_ns = 0;
    uint64_t arrived_at_ns = 0;  // its last part
    std::vector<uint8_t> bytes;
  };

  void Post(std::function<void()> job);
  void Work();
  // Source, on the worker: pause, capture, apply, send.
  void SendOut(const cluster::MigrateOut& m);
  // Target, on the worker: restore, apply, resume, tell the others.
  void TakeIn(cluster::NodeId from, const Incoming& in);
  void OnPart(cluster::NodeId from, const cluster::VcpuStatePart& p, const PageBuffer& page);
  void OnMoved(cluster::NodeId from, const cluster::VcpuMoved& m);
  std::unique_lock<std::mutex> OneMove();
  // The move itself, with one_at_a_time_ held.
  MigrationOutcome MoveLocked(uint32_t vcpu, cluster::NodeId to, const std::string& why);
  static void RequireVcpuAndNode(const cluster::ClusterView& view, uint32_t vcpu,
                                 cluster::NodeId node);
  // Coordinator: the move reached its target / one node's view / was refused.
  void Moved(const cluster::VcpuMoved& m);
  void Applied(cluster::NodeId from, uint64_t id);
  void Failed(const cluster::MoveFailed& f);
  // The move in flight, if it is `id` (mu_ held); else the peer's `what` of
  // it breaks the protocol.
  Move& Current(uint64_t id, const char* what);
  void Fail(const std::string& why);
  void CheckCoordinator(const char* what) const;
  std::span<uint8_t> Slot(uint32_t vcpu) const;
  // What keeps a paused vCPU from being captured now ("" if nothing).
  std::string Busy(uint32_t vcpu, const VcpuLoop& loop) const;

  const MigratorConfig config_;
  ClusterLink& link_;
  cluster::Transport& transport_;
  const GuestMemory& mem_;
  const std::vector<VcpuLoop*> loops_;
  const migrate::CaptureFeatures features_;
  const std::function<uint8_t(cluster::NodeId)> guest_node_;
  const std::function<bool(uint32_t)> waits_for_page_;
  VmStop& stop_;

  std::mutex one_at_a_time_;  // coordinator: held by Migrate
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::optional<Move> move_;                      // coordinator: the one in flight
  std::vector<VcpuPlacementState> placement_;     // coordinator, index = vCPU
  std::map<cluster::NodeId, Incoming> incoming_;  // target: by sender
  MigrationCounters counters_;
  std::deque<std::function<void()>> jobs_;
  std::thread worker_;  // last: started when all else is
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_VCPU_MIGRATOR_H_

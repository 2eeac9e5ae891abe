// One node's link to the rest of the cluster: the handler of the transport's
// control channel (forwarded IPIs, I/O and shutdowns for this node's VM),
// and the sender of this node's. Coherence traffic does not pass here: it
// has its own channel, which the DSM fault engine handles.
#ifndef SSIVM_HYPERVISOR_NODE_CLUSTER_LINK_H_
#define SSIVM_HYPERVISOR_NODE_CLUSTER_LINK_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_view.h"
#include "cluster/control_message.h"
#include "cluster/transport/transport.h"
#include "common/exit_status.h"
#include "hypervisor/devices/io_bus.h"
#include "hypervisor/devices/pio_device.h"
#include "hypervisor/node/vm_stop.h"

namespace ssivm {

class ClusterLink final : public cluster::ChannelHandler {
 public:
  // How often an interrupt may be passed on after its vCPU moved.
  static constexpr uint8_t kMaxInterruptHops = 4;
  using LocalInterrupt = std::function<void(uint32_t vcpu, uint8_t vector)>;

  // `view`: the members and which node runs each vCPU, as of the start.
  // Serves `transport`'s control channel (set before the transport starts).
  ClusterLink(cluster::NodeId self, cluster::ClusterView view, cluster::Transport& transport,
              VmStop& stop, LocalInterrupt local_interrupt);
  ~ClusterLink() override;

  // The devices of this node that peers may access (the device node only):
  // an access to any other port stops the VM naming the peer.
  // Their forwarded accesses run on a thread of their own, in the order they
  // arrive, never on the transport's receive thread: a device may block (the
  // UART on a paused terminal) and the DSM's traffic must not wait for it.
  void set_devices(IoBus* bus);

  cluster::NodeId self() const { return self_; }
  // The membership this node routes by; a change (a vCPU that moved, a node
  // that joined or left) applies atomically: an interrupt goes by the view
  // before or after it, never a mix. Throws Error if the change is refused.
  void ApplyViewChange(const cluster::ViewChange& change);
  // Runs `f` with the view locked: no interrupt is routed meanwhile, so a
  // vCPU's state captured inside `f` holds every interrupt delivered to it
  // here, and every later one goes where the view `f` leaves says (after
  // what `f` sent to that node: channels are FIFO per pair of nodes).
  void WithViewLocked(const std::function<void(cluster::ClusterView&)>& f);
  // A vCPU arrives (its state came; it is not restored yet): `f` runs with
  // the view locked (it applies the move), and from then on interrupts for
  // `vcpu` are held here until ReleaseHeld (restoring its LAPIC would lose
  // one delivered before).
  void ArriveHeld(uint32_t vcpu, const std::function<void(cluster::ClusterView&)>& f);
  // The vCPU runs here now: delivers what was held for it, in order.
  void ReleaseHeld(uint32_t vcpu);
  // Interrupts that met a moving vCPU: held here until it was restored, and
  // passed on because they reached this node after the vCPU left.
  struct MoveInterrupts {
    uint64_t held = 0;
    uint64_t passed_on = 0;
  };
  MoveInterrupts move_interrupts() const;
  cluster::ClusterView view() const;
  // Where migration messages go (MigrateOut, VcpuStatePart, VcpuMoved, MoveFailed,
  // ViewApplied, PagesPulled), called on the transport's receive thread:
  // it must not block. Set before the transport starts.
  using MigrationHandler = std::function<void(
      cluster::NodeId from, const cluster::ControlMessage& m, const PageBuffer& page)>;
  void set_migration_handler(MigrationHandler h) { migration_ = std::move(h); }
  // Delivers locally or forwards to the vCPU's node. Guest-controlled input:
  // an unknown vCPU is ignored by the caller's device (PvIpi checks it).
  void SendInterrupt(uint32_t vcpu, uint8_t vector);
  // A forwarded port access that has waited longer than `after` is reported
  // (once, naming the port and the node) through `report`.
  void ReportStallsAfter(std::chrono::milliseconds after,
                         std::function<void(const std::string&)> report);
  // Performs a port access on `node`'s devices and waits for the answer.
  // Returns all-ones if the VM stops meanwhile.
  uint32_t RemoteIo(cluster::NodeId node, uint16_t port, uint8_t size, bool write, uint32_t data);
  // Tells every peer to stop with this status (best effort). If a peer's
  // Shutdown is what stopped this node, relays that one instead (same status
  // and origin), so that no peer mistakes this node's closing connection for
  // a death before it has read the origin's Shutdown (channels are FIFO per
  // pair of nodes, not across them).
  void BroadcastShutdown(int status);

  void OnReceive(cluster::NodeId from, std::span<const uint8_t> payload, PageBuffer page) override;
  void OnPeerLost(cluster::NodeId peer, const std::string& reason) override;

  // Wakes RemoteIo waiters and stops serving forwarded I/O (the VM is
  // stopping). Does not wait for an access in progress.
  void Abort();
  // Abort, then waits until no forwarded access runs any more.
  void StopServing();

 private:
  // The link's own messages; any other goes to the migration handler.
  void Handle(cluster::NodeId from, const cluster::ControlMessage& message,
              const PageBuffer& page);
  // Delivers here (or holds) or sends to the node the view names; ignores
  // an unknown vCPU.
  void Route(const cluster::InterruptRequest& r);
  void ServeIo(cluster::NodeId from, const cluster::IoRequest& r);
  void ServeForwardedIo();

  // Where vCPU `vcpu` runs; nullopt if there is no such vCPU.
  std::optional<cluster::NodeId> NodeOfVcpu(uint32_t vcpu) const;

  const cluster::NodeId self_;
  mutable std::mutex view_mu_;
  cluster::ClusterView view_;
  std::map<uint32_t, std::vector<uint8_t>> held_;  // vCPU -> vectors, under view_mu_
  MoveInterrupts move_interrupts_;                 // under view_mu_
  cluster::Transport& transport_;
  VmStop& stop_;
  const LocalInterrupt local_interrupt_;
  IoBus* devices_ = nullptr;

  std::mutex io_mu_;
  std::condition_variable io_cv_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, std::optional<uint32_t>> io_waiting_;
  bool aborted_ = false;
  std::mutex shutdown_mu_;
  std::optional<cluster::Shutdown> peer_shutdown_;  // the first one received
  std::mutex serve_mu_;
  std::condition_variable serve_cv_;
  std::deque<std::pair<cluster::NodeId, cluster::IoRequest>> serve_queue_;
  bool serve_stop_ = false;
  std::thread server_;  // last: joined first
  MigrationHandler migration_;
  std::chrono::milliseconds stall_after_{0};
  std::function<void(const std::string&)> report_stall_;
};

// Stands in for a device that lives on another node: every access is
// forwarded there (I/O forwarding).
class RemoteDevice final : public PioDevice {
 public:
  RemoteDevice(ClusterLink& link, cluster::NodeId node, uint16_t base)
      : link_(link), node_(node), base_(base) {}
  uint32_t Read(uint16_t offset, uint8_t size) override {
    return link_.RemoteIo(node_, static_cast<uint16_t>(base_ + offset), size, false, 0);
  }
  void Write(uint16_t offset, uint8_t size, uint32_t value) override {
    link_.RemoteIo(node_, static_cast<uint16_t>(base_ + offset), size, true, value);
  }

 private:
  ClusterLink& link_;
  const cluster::NodeId node_;
  const uint16_t base_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CLUSTER_LINK_H_

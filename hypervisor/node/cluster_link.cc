#include "hypervisor/node/cluster_link.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/thread_filter.h"

namespace ssivm {

using cluster::NodeId;

ClusterLink::ClusterLink(NodeId self, cluster::ClusterView view, cluster::Transport& transport,
                         VmStop& stop, LocalInterrupt local_interrupt)
    : self_(self),
      view_(std::move(view)),
      transport_(transport),
      stop_(stop),
      local_interrupt_(std::move(local_interrupt)) {
  transport_.SetHandler(cluster::Channel::kControl, this);
}

ClusterLink::~ClusterLink() {
  StopServing();
}

void ClusterLink::StopServing() {
  Abort();
  if (server_.joinable() && server_.get_id() != std::this_thread::get_id()) server_.join();
}

void ClusterLink::set_devices(IoBus* bus) {
  devices_ = bus;
  if (bus != nullptr && !server_.joinable()) server_ = std::thread([this] { ServeForwardedIo(); });
}

void ClusterLink::ApplyViewChange(const cluster::ViewChange& change) {
  std::lock_guard<std::mutex> lock(view_mu_);
  view_.Apply(change);
}

void ClusterLink::WithViewLocked(const std::function<void(cluster::ClusterView&)>& f) {
  std::lock_guard<std::mutex> lock(view_mu_);
  f(view_);
}

void ClusterLink::ArriveHeld(uint32_t vcpu, const std::function<void(cluster::ClusterView&)>& f) {
  std::lock_guard<std::mutex> lock(view_mu_);
  f(view_);
  held_[vcpu];
}

void ClusterLink::ReleaseHeld(uint32_t vcpu) {
  std::lock_guard<std::mutex> lock(view_mu_);
  const auto it = held_.find(vcpu);
  if (it == held_.end()) return;
  for (const uint8_t vector : it->second) local_interrupt_(vcpu, vector);
  move_interrupts_.held += it->second.size();
  held_.erase(it);
}

ClusterLink::MoveInterrupts ClusterLink::move_interrupts() const {
  std::lock_guard<std::mutex> lock(view_mu_);
  return move_interrupts_;
}

cluster::ClusterView ClusterLink::view() const {
  std::lock_guard<std::mutex> lock(view_mu_);
  return view_;
}

std::optional<NodeId> ClusterLink::NodeOfVcpu(uint32_t vcpu) const {
  std::lock_guard<std::mutex> lock(view_mu_);
  if (vcpu >= view_.vcpu_count()) return std::nullopt;
  return view_.NodeOfVcpu(vcpu);
}

void ClusterLink::SendInterrupt(uint32_t vcpu, uint8_t vector) {
  Route(cluster::InterruptRequest{vcpu, vector, 0});
}

void ClusterLink::Route(const cluster::InterruptRequest& r) {
  // Under the view lock: a migration captures the vCPU's LAPIC with the
  // same lock held (WithViewLocked), so no interrupt falls between the two.
  std::lock_guard<std::mutex> lock(view_mu_);
  if (r.vcpu >= view_.vcpu_count()) return;
  const NodeId node = view_.NodeOfVcpu(r.vcpu);
  if (const auto held = held_.find(r.vcpu); node == self_ && held != held_.end()) {
    held->second.push_back(r.vector);
  } else if (node == self_) {
    local_interrupt_(r.vcpu, r.vector);
  } else {
    if (r.hops > 0) ++move_interrupts_.passed_on;  // it reached a node its vCPU had left
    cluster::SendControl(transport_, node, r);
  }
}

void ClusterLink::ReportStallsAfter(std::chrono::milliseconds after,
                                    std::function<void(const std::string&)> report) {
  stall_after_ = after;
  report_stall_ = std::move(report);
}

uint32_t ClusterLink::RemoteIo(NodeId node, uint16_t port, uint8_t size, bool write,
                               uint32_t data) {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(io_mu_);
    if (aborted_) return 0xffffffff;
    seq = next_seq_++;
    io_waiting_[seq];
  }
  cluster::SendControl(transport_, node, cluster::IoRequest{seq, 0, port, size, write, data});
  std::unique_lock<std::mutex> lock(io_mu_);
  const auto answered = [&] { return aborted_ || io_waiting_[seq].has_value(); };
  if (stall_after_.count() > 0 && !io_cv_.wait_for(lock, stall_after_, answered)) {
    lock.unlock();
    report_stall_(fmt::format(
        "a port {} of {} byte(s) at port {:#x}, forwarded to node {}, has waited {:.1f} s for its "
        "answer",
        write ? "write" : "read", size, port, node,
        std::chrono::duration<double>(stall_after_).count()));
    lock.lock();
  }
  io_cv_.wait(lock, answered);
  const uint32_t value = io_waiting_[seq].value_or(0xffffffff);
  io_waiting_.erase(seq);
  return value;
}

void ClusterLink::BroadcastShutdown(int status) {
  cluster::Shutdown message{status, self_};
  {
    std::lock_guard<std::mutex> lock(shutdown_mu_);
    if (peer_shutdown_) message = *peer_shutdown_;
  }
  for (const cluster::Member& m : view().members()) {
    const NodeId n = m.id;
    if (n == self_ || n == message.origin) continue;
    try {
      cluster::SendControl(transport_, n, message);
    } catch (const Error&) {
      // That peer is gone already; the others still get told.
    }
  }
}

void ClusterLink::Abort() {
  {
    std::lock_guard<std::mutex> lock(io_mu_);
    aborted_ = true;
    io_cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(serve_mu_);
  serve_stop_ = true;
  serve_cv_.notify_all();
}

void ClusterLink::OnReceive(NodeId from, std::span<const uint8_t> payload, PageBuffer page) {
  // A bad message throws: the peer is lost.
  const cluster::ControlMessage m = cluster::DecodeControl(payload);
  const bool part = std::holds_alternative<cluster::VcpuStatePart>(m);
  if (part != static_cast<bool>(page)) {
    throw Error(fmt::format("a {} message came {} a page", cluster::ControlMessageName(m),
                            part ? "without" : "with"));
  }
  Handle(from, m, page);
}

void ClusterLink::Handle(NodeId from, const cluster::ControlMessage& message,
                         const PageBuffer& page) {
  if (const auto* r = std::get_if<cluster::InterruptRequest>(&message)) {
    // One that reached this node after its vCPU moved on is passed on (each
    // move adds at most one hop while views catch up).
    // (It may even go back to the sender: a vCPU's target that has not
    // received its state yet sends to the source, which points back.)
    const std::optional<NodeId> node = NodeOfVcpu(r->vcpu);
    if (!node || r->vector < 32 || (*node != self_ && r->hops >= kMaxInterruptHops)) {
      stop_.Request({kExitPeerLost,
                     fmt::format("node {} asked node {} to interrupt vCPU {} (vector {}, {} "
                                 "hops), which it does not run",
                                 from, self_, r->vcpu, r->vector, r->hops),
                     true});
      return;
    }
    cluster::InterruptRequest next = *r;
    if (*node != self_) ++next.hops;
    Route(next);
  } else if (const auto* io = std::get_if<cluster::IoRequest>(&message)) {
    ServeIo(from, *io);
  } else if (const auto* rep = std::get_if<cluster::IoReply>(&message)) {
    std::lock_guard<std::mutex> lock(io_mu_);
    const auto it = io_waiting_.find(rep->seq);
    if (it == io_waiting_.end() || it->second.has_value()) {
      stop_.Request({kExitPeerLost,
                     fmt::format("node {} answered I/O request {} that node {} never sent", from,
                                 rep->seq, self_),
                     true});
      return;
    }
    it->second = rep->data;
    io_cv_.notify_all();
  } else if (const auto* s = std::get_if<cluster::Shutdown>(&message)) {
    if (view().Find(s->origin) == nullptr || s->origin == self_) {
      stop_.Request({kExitPeerLost,
                     fmt::format("node {} relayed a shutdown from node {}, which cannot send one",
                                 from, s->origin),
                     true});
      return;
    }
    {
      std::lock_guard<std::mutex> lock(shutdown_mu_);
      if (!peer_shutdown_) peer_shutdown_ = *s;
    }
    const std::string relayed = s->origin == from ? "" : fmt::format("; relayed by node {}", from);
    stop_.Request(
        {s->status & 0xff,
         fmt::format("node {} stopped the VM (status {}{})", s->origin, s->status, relayed),
         false});
  } else if (migration_) {  // every other message is the migration's
    migration_(from, message, page);
  } else {
    throw Error(fmt::format("a {} message to a node that does not migrate vCPUs",
                            cluster::ControlMessageName(message)));
  }
}

void ClusterLink::ServeIo(NodeId from, const cluster::IoRequest& r) {
  if (devices_ == nullptr) {
    stop_.Request(
        {kExitPeerLost,
         fmt::format("node {} forwarded I/O to node {}, which hosts no devices", from, self_),
         true});
    return;
  }
  // Only ports the device node forwards (`devices_` holds nothing else),
  // and at most one access per vCPU of the peer: each waits for its answer.
  if (!devices_->Handles(r.port)) {
    stop_.Request({kExitPeerLost,
                   fmt::format("node {} forwarded I/O to port {:#x}, which node {} does not serve",
                               from, r.port, self_),
                   true});
    return;
  }
  const size_t limit = std::max<size_t>(1, view().VcpusOf(from).size());
  std::lock_guard<std::mutex> lock(serve_mu_);
  const auto queued = std::count_if(serve_queue_.begin(), serve_queue_.end(),
                                    [from](const auto& q) { return q.first == from; });
  if (static_cast<size_t>(queued) >= limit) {
    stop_.Request(
        {kExitPeerLost,
         fmt::format("node {} has more forwarded I/O waiting than it has vCPUs ({})", from, limit),
         true});
    return;
  }
  serve_queue_.emplace_back(from, r);
  serve_cv_.notify_one();
}

void ClusterLink::ServeForwardedIo() {
  RestrictThisThread(ThreadKind::kVcpu);  // it runs devices, as vCPUs do
  for (;;) {
    std::pair<NodeId, cluster::IoRequest> next;
    {
      std::unique_lock<std::mutex> lock(serve_mu_);
      serve_cv_.wait(lock, [this] { return serve_stop_ || !serve_queue_.empty(); });
      if (serve_stop_) return;
      next = serve_queue_.front();
      serve_queue_.pop_front();
    }
    const auto& [from, r] = next;
    uint8_t bytes[4];
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(r.data >> (8 * i));
    uint32_t data = 0;
    try {
      devices_->Dispatch(r.write, r.port, r.size, bytes);
      for (int i = 0; i < r.size; ++i) data |= static_cast<uint32_t>(bytes[i]) << (8 * i);
      cluster::SendControl(transport_, from, cluster::IoReply{r.seq, data});
    } catch (const std::exception& e) {
      stop_.Request(
          {kExitVmmError,
           fmt::format("I/O forwarded by node {} (port {:#x}): {}", from, r.port, e.what()), true});
      return;
    }
  }
}

void ClusterLink::OnPeerLost(NodeId /*peer*/, const std::string& reason) {
  Abort();
  stop_.Request({kExitPeerLost, fmt::format("lost {}; stopping the VM", reason), true});
}

}  // namespace ssivm

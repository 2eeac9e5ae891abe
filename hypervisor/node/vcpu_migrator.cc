#include "hypervisor/node/vcpu_migrator.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/thread_filter.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/x86/kernel_loader.h"
#include "migrate/capture_point.h"
#include "migrate/vcpu_state_codec.h"

namespace ssivm {

using cluster::NodeId;

namespace {

// A vCPU's encoded state is ~70 KiB with its slot; more is not a vCPU.
constexpr uint32_t kMaxStateBytes = 1u << 20;
// How long a move tries to catch a vCPU between two events.
constexpr auto kBusyPatience = std::chrono::seconds(2);

uint64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string Nodes(const cluster::ClusterView& view) {
  std::string out;
  for (const cluster::Member& m : view.members()) {
    out += fmt::format("{}{}", out.empty() ? "" : ", ", m.id);
  }
  return out;
}

}  // namespace

VcpuMigrator::VcpuMigrator(const MigratorConfig& config, ClusterLink& link,
                           cluster::Transport& transport, const GuestMemory& mem,
                           std::vector<VcpuLoop*> loops, migrate::CaptureFeatures features,
                           std::function<uint8_t(NodeId)> guest_node,
                           std::function<bool(uint32_t)> waits_for_page, VmStop& stop)
    : config_(config),
      link_(link),
      transport_(transport),
      mem_(mem),
      loops_(std::move(loops)),
      features_(std::move(features)),
      guest_node_(std::move(guest_node)),
      waits_for_page_(std::move(waits_for_page)),
      stop_(stop) {
  for (uint32_t v = 0; v < link_.view().vcpu_count(); ++v) placement_.push_back({.vcpu = v});
  worker_ = std::thread([this] {
    // It captures and restores vCPUs (KVM ioctls) and sends, as vCPUs do.
    RestrictThisThread(ThreadKind::kVcpu);
    Work();
  });
}

VcpuMigrator::~VcpuMigrator() {
  Stop();
  worker_.join();
}

void VcpuMigrator::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

void VcpuMigrator::Post(std::function<void()> job) {
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
  cv_.notify_all();
}

void VcpuMigrator::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      Fail(e.what());
    }
  }
}

void VcpuMigrator::Fail(const std::string& why) {
  stop_.Request(
      {kExitVmmError, fmt::format("vCPU migration on node {}: {}", config_.self, why), true});
}

void VcpuMigrator::CheckCoordinator(const char* what) const {
  if (config_.self != config_.coordinator) {
    throw Error(fmt::format("{} goes to node {} (the coordinator), not node {}", what,
                            config_.coordinator, config_.self));
  }
}

VcpuMigrator::Move& VcpuMigrator::Current(uint64_t id, const char* what) {
  if (!move_ || move_->id != id) {
    throw Error(fmt::format("{} move {}, which is not under way", what, id));
  }
  return *move_;
}

void VcpuMigrator::RequireVcpuAndNode(const cluster::ClusterView& view, uint32_t vcpu,
                                      NodeId node) {
  if (vcpu >= view.vcpu_count()) {
    throw Error(fmt::format("there is no vCPU {}: the VM has {} (0-{})", vcpu, view.vcpu_count(),
                            view.vcpu_count() - 1));
  }
  if (view.Find(node) == nullptr) {
    throw Error(fmt::format("there is no node {}: the cluster has node(s) {}", node, Nodes(view)));
  }
}

std::span<uint8_t> VcpuMigrator::Slot(uint32_t vcpu) const {
  if (!config_.carry_slot) return {};
  return mem_.Span(abi::VcpuSlotGpa(vcpu), abi::kVcpuSlotSize);
}

std::string VcpuMigrator::Busy(uint32_t vcpu, const VcpuLoop& loop) const {
  if (!config_.pvm || !config_.carry_slot) return migrate::CaptureBlocker(loop.Events(), nullptr);
  // The ssivm kernel's addresses are physical ones.
  migrate::PvmEventState pvm;
  pvm.vif_pending = Slot(vcpu)[abi::kSlotVifCell + 1];
  if (const uint64_t rip = loop.Rip(); rip > 0 && mem_.Contains(rip - 1, 1)) {
    pvm.byte_before_rip = mem_.Span(rip - 1, 1)[0];
  }
  return migrate::CaptureBlocker(loop.Events(), &pvm);
}

// Holds the coordinator's one move at a time, or says which move runs.
std::unique_lock<std::mutex> VcpuMigrator::OneMove() {
  std::unique_lock one(one_at_a_time_, std::try_to_lock);
  if (!one.owns_lock()) {
    std::lock_guard lock(mu_);
    if (move_) {
      throw Error(fmt::format("vCPU {} is being moved from node {} to node {}: one move at a time",
                              move_->vcpu, move_->from, move_->to));
    }
    throw Error("another vCPU move is in progress: one move at a time");
  }
  return one;
}

MigrationOutcome VcpuMigrator::Migrate(uint32_t vcpu, NodeId to, const std::string& why) {
  CheckCoordinator("a vCPU migration");
  const std::unique_lock one = OneMove();
  {
    std::lock_guard lock(mu_);
    if (vcpu < placement_.size()) {
      if (const auto pin = placement_[vcpu].pinned; pin && *pin != to) {
        throw Error(fmt::format("vCPU {} is pinned to node {} (unpin it first)", vcpu, *pin));
      }
    }
  }
  return MoveLocked(vcpu, to, why);
}

std::optional<MigrationOutcome> VcpuMigrator::PinTo(uint32_t vcpu, NodeId node) {
  CheckCoordinator("pinning a vCPU");
  const std::unique_lock one = OneMove();
  const cluster::ClusterView view = link_.view();
  RequireVcpuAndNode(view, vcpu, node);
  std::optional<MigrationOutcome> moved;
  // Pinned once there (a failed move changes nothing, the old pin included).
  if (view.NodeOfVcpu(vcpu) != node) moved = MoveLocked(vcpu, node, "operator (ssictl pin)");
  std::lock_guard lock(mu_);
  placement_[vcpu].pinned = node;
  return moved;
}

MigrationOutcome VcpuMigrator::MoveLocked(uint32_t vcpu, NodeId to, const std::string& why) {
  const cluster::ClusterView view = link_.view();
  RequireVcpuAndNode(view, vcpu, to);
  const NodeId from = view.NodeOfVcpu(vcpu);
  if (from == to) throw Error(fmt::format("vCPU {} runs on node {} already", vcpu, to));
  if (vcpu == 0 && from == config_.device_node) {
    // The guest routes the UART's interrupt to vCPU 0 through the device
    // node's in-kernel IOAPIC, which cannot forward it to another node.
    throw Error(fmt::format(
        "vCPU 0 stays on node {}: it takes the devices' interrupts (the UART's IRQ through node "
        "{}'s in-kernel IOAPIC), which do not follow a vCPU to another node",
        config_.device_node, config_.device_node));
  }
  const auto start = std::chrono::steady_clock::now();
  cluster::MigrateOut out{};
  {
    std::lock_guard lock(mu_);
    if (stopping_ || stop_.requested()) throw Error("the VM is stopping");
    out = {next_id_++, vcpu, to, view.epoch()};
    Move m{.id = out.id, .vcpu = vcpu, .from = from, .to = to, .epoch = out.epoch};
    for (const cluster::Member& member : view.members()) {
      if (member.id != config_.self && member.id != to) m.acks_missing.insert(member.id);
    }
    move_ = m;
  }
  spdlog::info("moving vCPU {} from node {} to node {} ({})", vcpu, from, to, why);
  if (from == config_.self) {
    Post([this, out] { SendOut(out); });
  } else {
    cluster::SendControl(transport_, from, out);
  }
  std::unique_lock lock(mu_);
  const bool done = cv_.wait_for(lock, config_.timeout, [&] {
    return stopping_ || stop_.requested() || !move_->failure.empty() ||
           (move_->moved && move_->acks_missing.empty());
  });
  const Move m = *move_;
  move_.reset();
  if (!done) {
    lock.unlock();
    const std::string what =
        fmt::format("the move of vCPU {} from node {} to node {} did not complete in {:.0f} s",
                    vcpu, from, to, std::chrono::duration<double>(config_.timeout).count());
    Fail(what);
    throw Error(what + "; the VM stops");
  }
  if (!m.failure.empty()) throw Error(m.failure);
  if (!(m.moved && m.acks_missing.empty())) {
    throw Error(
        fmt::format("the VM stopped while vCPU {} moved from node {} to node {}", vcpu, from, to));
  }
  const cluster::VcpuMoved& r = *m.moved;
  const auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  const MigrationOutcome outcome{
      .vcpu = vcpu,
      .from = from,
      .to = to,
      .downtime_us = us(r.downtime_ns),
      .total_us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count(),
      .state_bytes = r.state_bytes,
      .capture_us = us(r.capture_ns),
      .transfer_us = us(r.transfer_ns),
      .restore_us = us(r.downtime_ns - std::min(r.downtime_ns, r.capture_ns + r.transfer_ns))};
  VcpuPlacementState& p = placement_[vcpu];
  ++p.migrations;
  p.last_reason = why;
  p.last_downtime_us = outcome.downtime_us;
  spdlog::info("vCPU {} moved from node {} to node {}: downtime {:.3f} ms, move {:.3f} ms", vcpu,
               from, to, outcome.downtime_us / 1000, outcome.total_us / 1000);
  return outcome;
}

void VcpuMigrator::Unpin(uint32_t vcpu) {
  CheckCoordinator("unpinning a vCPU");
  std::lock_guard lock(mu_);
  if (vcpu >= placement_.size()) {
    throw Error(fmt::format("there is no vCPU {}: the VM has {}", vcpu, placement_.size()));
  }
  placement_[vcpu].pinned.reset();
}

std::vector<VcpuPlacementState> VcpuMigrator::Placement() const {
  const cluster::ClusterView view = link_.view();
  std::lock_guard lock(mu_);
  std::vector<VcpuPlacementState> out = placement_;
  for (VcpuPlacementState& s : out) s.node = view.NodeOfVcpu(s.vcpu);
  return out;
}

MigrationCounters VcpuMigrator::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void VcpuMigrator::SendOut(const cluster::MigrateOut& m) {
  if (m.vcpu >= loops_.size()) throw Error(fmt::format("asked to move unknown vCPU {}", m.vcpu));
  VcpuLoop& loop = *loops_[m.vcpu];
  const bool faulting = waits_for_page_(m.vcpu);
  uint64_t paused_at = 0;
  // Caught in the middle of delivering an event, a vCPU is let run on for a
  // moment and caught again (see Busy); if it stays busy, the move is
  // refused and nothing changes.
  const auto give_up = std::chrono::steady_clock::now() + kBusyPatience;
  for (;;) {
    paused_at = RealtimeNs();
    if (!loop.Pause()) return;  // the VM stops
    const std::string busy = Busy(m.vcpu, loop);
    if (busy.empty()) break;
    loop.Resume();
    if (std::chrono::steady_clock::now() > give_up) {
      spdlog::warn("vCPU {} still had an {} after {:.0f} s of attempts: it stays on node {}",
                   m.vcpu, busy, std::chrono::duration<double>(kBusyPatience).count(),
                   config_.self);
      const cluster::MoveFailed failed{m.id, m.vcpu, cluster::MoveFailed::kMoveBusy};
      if (config_.self == config_.coordinator) {
        Failed(failed);
      } else {
        cluster::SendControl(transport_, config_.coordinator, failed);
      }
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  link_.WithViewLocked([&](cluster::ClusterView& view) {
    if (view.epoch() != m.epoch || view.NodeOfVcpu(m.vcpu) != config_.self) {
      throw Error(fmt::format(
          "asked to move vCPU {} at view epoch {}, but this node is at epoch {} and vCPU {} runs "
          "on node {}",
          m.vcpu, m.epoch, view.epoch(), m.vcpu, view.NodeOfVcpu(m.vcpu)));
    }
    const migrate::VcpuState st = loop.Save(features_, Slot(m.vcpu));
    const std::vector<uint8_t> bytes = migrate::EncodeVcpuState(st);
    const uint64_t captured_at = RealtimeNs();
    view.Apply({m.epoch, cluster::MoveVcpu{m.vcpu, m.to}});
    const auto total = static_cast<uint32_t>(bytes.size());
    for (uint32_t offset = 0; offset < total; offset += abi::kPageSize) {
      const uint32_t length = std::min<uint32_t>(abi::kPageSize, total - offset);
      PageBuffer page = transport_.pages().Allocate();
      std::memcpy(page.mutable_data(), bytes.data() + offset, length);
      cluster::SendControl(transport_, m.to,
                           cluster::VcpuStatePart{m.id, m.vcpu, m.epoch, total, offset, length,
                                                  paused_at, captured_at},
                           page);
    }
  });
  SetVcpuNode(mem_, m.vcpu, guest_node_(m.to));
  std::lock_guard lock(mu_);
  ++counters_.sent;
  if (faulting) ++counters_.sent_while_faulting;
}

void VcpuMigrator::OnPart(NodeId from, const cluster::VcpuStatePart& p, const PageBuffer& page) {
  std::lock_guard lock(mu_);
  Incoming& in = incoming_[from];
  if (p.offset == 0) {
    if (!in.bytes.empty()) {
      throw Error(fmt::format("started the state of vCPU {} before it finished vCPU {}'s", p.vcpu,
                              in.vcpu));
    }
    const cluster::ClusterView view = link_.view();
    if (p.vcpu >= view.vcpu_count() || view.epoch() != p.epoch || view.NodeOfVcpu(p.vcpu) != from) {
      throw Error(
          fmt::format("sent the state of vCPU {} at view epoch {}, which it does not run "
                      "in this node's view (epoch {})",
                      p.vcpu, p.epoch, view.epoch()));
    }
    if (p.total > kMaxStateBytes) {
      throw Error(
          fmt::format("sent a vCPU state of {} bytes (at most {})", p.total, kMaxStateBytes));
    }
    in = {p.id, p.vcpu, p.epoch, p.total, p.paused_at_ns, p.captured_at_ns, 0, {}};
    in.bytes.reserve(p.total);
  } else if (p.id != in.id || p.vcpu != in.vcpu || p.epoch != in.epoch || p.total != in.total ||
             p.offset != in.bytes.size()) {
    throw Error(
        fmt::format("sent part {}+{} of move {} (vCPU {}), which does not continue the "
                    "state it is sending",
                    p.offset, p.length, p.id, p.vcpu));
  }
  in.bytes.insert(in.bytes.end(), page.data(), page.data() + p.length);
  if (in.bytes.size() == in.total) {
    in.arrived_at_ns = RealtimeNs();
    Incoming done = std::move(in);
    incoming_.erase(from);
    // The vCPU is this node's from here, in the order of what the source
    // sent: an interrupt it passes on after the state must not be sent back
    // to it. Until the worker restored the vCPU, its interrupts are held.
    link_.ArriveHeld(done.vcpu, [&](cluster::ClusterView& view) {
      view.Apply({done.epoch, cluster::MoveVcpu{done.vcpu, config_.self}});
    });
    jobs_.emplace_back([this, from, done = std::move(done)] { TakeIn(from, done); });
    cv_.notify_all();
  }
}

void VcpuMigrator::TakeIn(NodeId from, const Incoming& in) {
  const migrate::VcpuState state = migrate::DecodeVcpuState(in.bytes);
  if (state.vcpu != in.vcpu) {
    throw Error(
        fmt::format("node {} sent vCPU {}'s state as vCPU {}'s", from, state.vcpu, in.vcpu));
  }
  if (config_.carry_slot && state.private_slot.size() != abi::kVcpuSlotSize) {
    throw Error(fmt::format("node {} sent vCPU {}'s private slot with {} bytes (not {})", from,
                            in.vcpu, state.private_slot.size(), abi::kVcpuSlotSize));
  }
  VcpuLoop& loop = *loops_[in.vcpu];
  if (!loop.Pause()) return;  // parked since it left (or started); false: the VM stops
  loop.Restore(state);
  if (config_.carry_slot) {
    std::memcpy(Slot(in.vcpu).data(), state.private_slot.data(), state.private_slot.size());
  }
  SetVcpuNode(mem_, in.vcpu, guest_node_(config_.self));
  link_.ReleaseHeld(in.vcpu);
  loop.Resume();
  {
    std::lock_guard lock(mu_);
    ++counters_.received;
  }
  // The clocks of two hosts: a step between them makes no negative phase.
  const auto since = [](uint64_t then, uint64_t now) { return now > then ? now - then : 0; };
  const cluster::VcpuMoved moved{in.id,
                                 in.vcpu,
                                 from,
                                 config_.self,
                                 in.epoch,
                                 since(in.paused_at_ns, RealtimeNs()),
                                 in.total,
                                 since(in.paused_at_ns, in.captured_at_ns),
                                 since(in.captured_at_ns, in.arrived_at_ns)};
  for (const cluster::Member& m : link_.view().members()) {
    if (m.id != config_.self) cluster::SendControl(transport_, m.id, moved);
  }
  if (config_.self == config_.coordinator) Moved(moved);
}

void VcpuMigrator::OnMoved(NodeId from, const cluster::VcpuMoved& m) {
  if (m.to != from) {
    throw Error(fmt::format("reported vCPU {} moved to node {}, but only the target reports",
                            m.vcpu, m.to));
  }
  bool source = false;
  link_.WithViewLocked([&](cluster::ClusterView& view) {
    if (view.epoch() == m.epoch + 1 && m.vcpu < view.vcpu_count() &&
        view.NodeOfVcpu(m.vcpu) == m.to) {
      source = true;  // applied as it sent the state
      return;
    }
    if (view.epoch() != m.epoch) {
      throw Error(fmt::format("moved vCPU {} at view epoch {}, but this node is at epoch {}",
                              m.vcpu, m.epoch, view.epoch()));
    }
    view.Apply({m.epoch, cluster::MoveVcpu{m.vcpu, m.to}});
  });
  if (!source) SetVcpuNode(mem_, m.vcpu, guest_node_(m.to));
  if (config_.self == config_.coordinator) {
    Moved(m);  // its own view needs no acknowledgement
  } else {
    cluster::SendControl(transport_, config_.coordinator, cluster::ViewApplied{m.id, m.epoch});
  }
}

void VcpuMigrator::Moved(const cluster::VcpuMoved& m) {
  std::lock_guard lock(mu_);
  Move& move = Current(m.id, "reported");
  move.moved = m;
  cv_.notify_all();
}

void VcpuMigrator::Failed(const cluster::MoveFailed& f) {
  std::lock_guard lock(mu_);
  Move& move = Current(f.id, "refused");
  move.failure = fmt::format(
      "node {} did not move vCPU {}: for {:.0f} s it was always in the middle of taking an "
      "interrupt or exception (with its interrupts off); nothing changed, try again",
      move.from, move.vcpu, std::chrono::duration<double>(kBusyPatience).count());
  cv_.notify_all();
}

void VcpuMigrator::Applied(NodeId from, uint64_t id) {
  std::lock_guard lock(mu_);
  Current(id, "applied").acks_missing.erase(from);
  cv_.notify_all();
}

void VcpuMigrator::OnMessage(NodeId from, const cluster::ControlMessage& m,
                             const PageBuffer& page) {
  if (const auto* out = std::get_if<cluster::MigrateOut>(&m)) {
    if (from != config_.coordinator) {
      throw Error(fmt::format("asked node {} to move vCPU {}, but only node {} decides moves",
                              config_.self, out->vcpu, config_.coordinator));
    }
    Post([this, o = *out] { SendOut(o); });
  } else if (const auto* p = std::get_if<cluster::VcpuStatePart>(&m)) {
    OnPart(from, *p, page);
  } else if (const auto* moved = std::get_if<cluster::VcpuMoved>(&m)) {
    OnMoved(from, *moved);
  } else if (const auto* a = std::get_if<cluster::ViewApplied>(&m)) {
    CheckCoordinator("a ViewApplied");
    Applied(from, a->id);
  } else if (const auto* f = std::get_if<cluster::MoveFailed>(&m)) {
    CheckCoordinator("a MoveFailed");
    Failed(*f);
  }
}

}  // namespace ssivm

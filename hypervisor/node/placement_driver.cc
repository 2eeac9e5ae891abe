#include "hypervisor/node/placement_driver.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/thread_filter.h"

namespace ssivm {

using cluster::NodeId;

PlacementDriver::PlacementDriver(const PlacementDriverConfig& config, ClusterLink& link,
                                 cluster::Transport& transport, VcpuMigrator& migrator,
                                 Inputs inputs)
    : config_(config),
      link_(link),
      transport_(transport),
      migrator_(migrator),
      inputs_(std::move(inputs)),
      policy_([&] {
        migrate::PlacementConfig p = config.policy;
        p.window_us = std::chrono::duration<double, std::micro>(config.window).count();
        return p;
      }()),
      cost_model_(config.policy.costs) {
  moves_seen_.resize(link_.view().vcpu_count(), 0);
  thread_ = std::thread([this] {
    RestrictThisThread(ThreadKind::kControl);  // it waits, sends and asks the migrator
    Run();
  });
}

PlacementDriver::~PlacementDriver() {
  Stop();
  thread_.join();
}

void PlacementDriver::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

void PlacementDriver::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, config_.window, [this] { return stopping_; })) return;
    }
    try {
      if (config_.self == config_.coordinator) {
        Decide();
      } else {
        Report();
      }
    } catch (const std::exception& e) {
      // A report to a peer that is gone: the link reports the loss.
      spdlog::debug("placement: {}", e.what());
    }
  }
}

void PlacementDriver::Report() {
  for (const auto& [vcpu, from] : inputs_.pages_from()) {
    for (const auto& [node, pages] : from) {
      cluster::SendControl(transport_, config_.coordinator,
                           cluster::PagesPulled{vcpu, node, pages});
    }
  }
}

void PlacementDriver::Count(NodeId node, uint32_t vcpu, NodeId from, uint64_t pages) {
  uint64_t& last = last_[{node, vcpu, from}];
  if (pages > last) window_[vcpu][from] += pages - last;
  last = pages;
}

void PlacementDriver::OnPagesPulled(NodeId from, const cluster::PagesPulled& p) {
  if (config_.self != config_.coordinator) {
    throw Error(fmt::format("sent node {} its fault counts, but node {} places vCPUs", config_.self,
                            config_.coordinator));
  }
  const cluster::ClusterView view = link_.view();
  if (p.vcpu >= view.vcpu_count() || view.Find(p.from) == nullptr) {
    throw Error(fmt::format(
        "reported pages of vCPU {} from node {}, which the cluster does not have", p.vcpu, p.from));
  }
  std::lock_guard lock(mu_);
  Count(from, p.vcpu, p.from, p.pages);
}

migrate::CostEvidence PlacementDriver::costs() const {
  std::lock_guard lock(mu_);
  return cost_model_.evidence();
}

void PlacementDriver::MeasureCosts(const std::vector<VcpuPlacementState>& states) {
  for (const auto& [vcpu, left] : pull_back_from_) {
    const auto it = window_.find(vcpu);
    uint64_t pages = 0;
    if (it != window_.end()) {
      const auto from = it->second.find(left);
      if (from != it->second.end()) pages = from->second;
    }
    cost_model_.AddPullBack(pages);
  }
  pull_back_from_.clear();
  cost_model_.SetFaultLatencies(inputs_.fault_latencies());
  // The operator's moves since the last window count for their downtime
  // only: what a vCPU moved away from its data pulls next is its workload,
  // not the price of the move (the driver's own moves are measured as it
  // makes them).
  for (const VcpuPlacementState& s : states) {
    if (s.migrations != moves_seen_[s.vcpu]) cost_model_.AddMove(s.last_downtime_us);
  }
}

void PlacementDriver::Decide() {
  const cluster::ClusterView view = link_.view();
  // The operator's pins and moves, as the migrator has them.
  const std::vector<VcpuPlacementState> states = migrator_.Placement();
  std::vector<migrate::VcpuFaults> window;
  {
    std::lock_guard lock(mu_);
    for (const auto& [vcpu, from] : inputs_.pages_from()) {
      for (const auto& [node, pages] : from) Count(config_.self, vcpu, node, pages);
    }
    MeasureCosts(states);
    for (auto& [vcpu, from] : window_) {
      // vCPU 0 cannot leave the device node (the coordinator): see
      // VcpuMigrator::Migrate. Its faults are no reason to move it.
      if (vcpu == 0 && view.NodeOfVcpu(0) == config_.coordinator) continue;
      window.push_back({vcpu, std::move(from)});
    }
    window_.clear();
    policy_.SetCosts(cost_model_.costs());
  }
  migrate::Placement now;
  for (uint32_t v = 0; v < view.vcpu_count(); ++v) now.vcpu_node.push_back(view.NodeOfVcpu(v));
  for (const cluster::Member& m : view.members()) now.nodes.insert(m.id);
  for (const VcpuPlacementState& s : states) {
    // Only changes: unpinning restarts the vCPU's history.
    if (s.pinned != policy_.PinnedTo(s.vcpu)) {
      if (s.pinned) {
        policy_.Pin(now, s.vcpu, *s.pinned);
      } else {
        policy_.Unpin(s.vcpu);
      }
    }
    if (s.migrations != moves_seen_[s.vcpu]) policy_.Moved(s.vcpu);
  }
  const std::vector<migrate::PlacementMove> moves = policy_.Decide(now, window);
  for (const migrate::PlacementMove& m : moves) {
    if (!config_.automatic) continue;
    try {
      const MigrationOutcome out = migrator_.Migrate(m.vcpu, m.to, "placement: " + m.why);
      std::lock_guard lock(mu_);
      cost_model_.AddMove(out.downtime_us);
      pull_back_from_[m.vcpu] = out.from;
    } catch (const Error& e) {
      spdlog::info("placement: vCPU {} stays on node {}: {}", m.vcpu, m.from, e.what());
    }
  }
  for (const VcpuPlacementState& s : migrator_.Placement()) moves_seen_[s.vcpu] = s.migrations;
}

}  // namespace ssivm

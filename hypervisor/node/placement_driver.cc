#include "hypervisor/node/placement_driver.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/thread_filter.h"

namespace ssivm {

using cluster::NodeId;

PlacementDriver::PlacementDriver(const PlacementDriverConfig& config, ClusterLink& link,
                                 cluster::Transport& transport, VcpuMigrator& migrator,
                                 std::function<PagesFrom()> pages_from)
    : config_(config),
      link_(link),
      transport_(transport),
      migrator_(migrator),
      pages_from_(std::move(pages_from)),
      policy_(config.policy) {
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
  for (const auto& [vcpu, from] : pages_from_()) {
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

void PlacementDriver::Decide() {
  const cluster::ClusterView view = link_.view();
  std::vector<migrate::VcpuFaults> window;
  {
    std::lock_guard lock(mu_);
    for (const auto& [vcpu, from] : pages_from_()) {
      for (const auto& [node, pages] : from) Count(config_.self, vcpu, node, pages);
    }
    for (auto& [vcpu, from] : window_) {
      // vCPU 0 cannot leave the device node (the coordinator): see
      // VcpuMigrator::Migrate. Its faults are no reason to move it.
      if (vcpu == 0 && view.NodeOfVcpu(0) == config_.coordinator) continue;
      window.push_back({vcpu, std::move(from)});
    }
    window_.clear();
  }
  migrate::Placement now;
  for (uint32_t v = 0; v < view.vcpu_count(); ++v) now.vcpu_node.push_back(view.NodeOfVcpu(v));
  for (const cluster::Member& m : view.members()) now.nodes.insert(m.id);
  // The operator's pins and moves, as the migrator has them.
  const std::vector<VcpuPlacementState> states = migrator_.Placement();
  moves_seen_.resize(states.size(), 0);
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
      migrator_.Migrate(m.vcpu, m.to, "placement: " + m.why);
    } catch (const Error& e) {
      spdlog::info("placement: vCPU {} stays on node {}: {}", m.vcpu, m.from, e.what());
    }
  }
  for (const VcpuPlacementState& s : migrator_.Placement()) moves_seen_[s.vcpu] = s.migrations;
}

}  // namespace ssivm

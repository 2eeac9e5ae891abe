#include "migrate/placement.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::migrate {

void PlacementConfig::Validate() const {
  if (!(costs.page_fault_us > 0) || !(costs.vcpu_move_us >= 0)) {
    throw Error(fmt::format(
        "placement: costs must be a positive page fault and a non-negative vCPU move (got {} us "
        "and {} us)",
        costs.page_fault_us, costs.vcpu_move_us));
  }
  if (!(window_us > 0)) {
    throw Error(fmt::format("placement: window_us {} must be positive", window_us));
  }
  if (!(min_stall_share >= 0 && min_stall_share <= 1)) {
    throw Error(fmt::format("placement: min_stall_share {} must be in [0, 1]", min_stall_share));
  }
  if (!(gain_factor >= 1)) {
    throw Error(fmt::format("placement: gain_factor {} must be at least 1", gain_factor));
  }
  if (!(min_share > 0 && min_share <= 1)) {
    throw Error(fmt::format("placement: min_share {} must be in (0, 1]", min_share));
  }
  if (stable_windows == 0) throw Error("placement: stable_windows must be at least 1");
}

PlacementPolicy::PlacementPolicy(PlacementConfig config) : config_(config) {
  config_.Validate();
}

void PlacementPolicy::Pin(const Placement& now, uint32_t vcpu, NodeId node) {
  if (vcpu >= now.vcpu_node.size()) {
    throw Error(fmt::format("cannot pin vCPU {}: the guest has vCPUs 0-{}", vcpu,
                            now.vcpu_node.size() - 1));
  }
  if (now.nodes.count(node) == 0) {
    throw Error(fmt::format("cannot pin vCPU {} to node {}: no such node", vcpu, node));
  }
  pins_[vcpu] = node;
}

void PlacementPolicy::Unpin(uint32_t vcpu) {
  pins_.erase(vcpu);
  history_.erase(vcpu);
}

std::optional<NodeId> PlacementPolicy::PinnedTo(uint32_t vcpu) const {
  const auto it = pins_.find(vcpu);
  if (it == pins_.end()) return std::nullopt;
  return it->second;
}

void PlacementPolicy::SetCosts(const PlacementCosts& costs) {
  PlacementConfig next = config_;
  next.costs = costs;
  next.Validate();
  config_ = next;
}

void PlacementPolicy::Moved(uint32_t vcpu) {
  history_[vcpu] = {std::nullopt, 0, config_.cooldown_windows};
}

std::optional<PlacementMove> PlacementPolicy::Want(uint32_t vcpu, NodeId at,
                                                   const std::map<NodeId, uint64_t>& from,
                                                   const Placement& now, History& h) const {
  uint64_t remote = 0;
  std::optional<NodeId> best;
  for (const auto& [node, faults] : from) {
    if (node == at) continue;
    remote += faults;
    if (now.nodes.count(node) != 0 && faults > 0 && (!best || faults > from.at(*best))) {
      best = node;
    }
  }
  const uint64_t pulled = best ? from.at(*best) : 0;
  // What the window's faults from `best` cost, against what a move costs.
  const double gain_us = static_cast<double>(pulled) * config_.costs.page_fault_us;
  const bool worth = best && gain_us > config_.gain_factor * config_.costs.vcpu_move_us &&
                     gain_us >= config_.min_stall_share * config_.window_us &&
                     static_cast<double>(pulled) >= config_.min_share * static_cast<double>(remote);
  if (!worth) {
    h.candidate.reset();
    h.streak = 0;
    return std::nullopt;
  }
  h.streak = h.candidate == best ? h.streak + 1 : 1;
  h.candidate = best;
  if (h.streak < config_.stable_windows) return std::nullopt;
  return PlacementMove{
      vcpu, at, *best,
      fmt::format("pulled {} of its {} remote pages from node {} in each of {} windows (~{:.1f} "
                  "ms a window at {:.0f} us a page, {:.0f}% of it; a move costs ~{:.1f} ms)",
                  pulled, remote, *best, h.streak, gain_us / 1000, config_.costs.page_fault_us,
                  100 * gain_us / config_.window_us, config_.costs.vcpu_move_us / 1000)};
}

std::vector<PlacementMove> PlacementPolicy::Decide(const Placement& now,
                                                   const std::vector<VcpuFaults>& window) {
  std::map<uint32_t, std::map<NodeId, uint64_t>> faults;
  for (const VcpuFaults& v : window) {
    if (v.vcpu >= now.vcpu_node.size()) {
      throw Error(fmt::format("placement: fault counts for vCPU {}, but the guest has vCPUs 0-{}",
                              v.vcpu, now.vcpu_node.size() - 1));
    }
    for (const auto& [node, n] : v.from) faults[v.vcpu][node] += n;
  }
  // Pins first (an admin's word), then the policy's wishes by gain.
  std::vector<PlacementMove> pinned;
  std::vector<std::pair<uint64_t, PlacementMove>> wished;
  for (uint32_t vcpu = 0; vcpu < now.vcpu_node.size(); ++vcpu) {
    const NodeId at = now.vcpu_node[vcpu];
    History& h = history_[vcpu];
    if (const auto pin = PinnedTo(vcpu)) {
      if (*pin != at && now.nodes.count(*pin) != 0) {
        pinned.push_back({vcpu, at, *pin, fmt::format("pinned to node {}", *pin)});
      }
      continue;
    }
    if (h.cooldown > 0) {
      --h.cooldown;
      continue;
    }
    // operator[]: a vCPU without faults this window has none from anywhere.
    const std::map<NodeId, uint64_t>& from = faults[vcpu];
    if (auto m = Want(vcpu, at, from, now, h)) {
      const uint64_t pulled = from.at(m->to);
      wished.emplace_back(pulled, std::move(*m));
    }
  }
  std::stable_sort(wished.begin(), wished.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });

  std::map<NodeId, size_t> load;
  for (const NodeId n : now.vcpu_node) ++load[n];
  const auto fits = [&](NodeId to) {
    return config_.max_vcpus_per_node == 0 || load[to] < config_.max_vcpus_per_node;
  };
  std::vector<PlacementMove> moves;
  const auto take = [&](PlacementMove m) {
    --load[m.from];
    ++load[m.to];
    Moved(m.vcpu);
    moves.push_back(std::move(m));
  };
  for (PlacementMove& m : pinned) take(std::move(m));  // pins are not bound by the limit
  for (auto& [pulled, m] : wished) {
    if (fits(m.to)) take(std::move(m));
  }
  return moves;
}

}  // namespace ssivm::migrate

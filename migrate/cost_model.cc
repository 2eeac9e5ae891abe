#include "migrate/cost_model.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace ssivm::migrate {
namespace {

template <typename T>
void Remember(std::deque<T>& recent, T value) {
  recent.push_back(value);
  if (recent.size() > CostModel::kRecent) recent.pop_front();
}

double Median(const std::deque<double>& values) {
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

CostModel::CostModel(PlacementCosts prior) : prior_(prior) {}

void CostModel::SetFaultLatencies(std::span<const uint64_t> log2_us) {
  const uint64_t total = std::accumulate(log2_us.begin(), log2_us.end(), uint64_t{0});
  faults_ = total;
  if (total < kMinFaults) return;
  // The bucket of the median fault; within it, its middle (the histogram
  // knows no better): [2^b, 2^(b+1)) -> 1.5 * 2^b, bucket 0 -> 1.
  uint64_t seen = 0;
  for (size_t b = 0; b < log2_us.size(); ++b) {
    seen += log2_us[b];
    if (2 * seen >= total) {
      page_fault_us_ = b == 0 ? 1.0 : 1.5 * static_cast<double>(uint64_t{1} << b);
      return;
    }
  }
}

void CostModel::AddMove(double downtime_us) {
  Remember(downtimes_us_, std::max(0.0, downtime_us));
}

void CostModel::AddPullBack(uint64_t pages) {
  Remember(pull_backs_, pages);
}

CostEvidence CostModel::evidence() const {
  CostEvidence e;
  e.costs = prior_;
  if (faults_ >= kMinFaults) {
    e.faults = faults_;
    e.costs.page_fault_us = page_fault_us_;
  }
  e.pull_backs = static_cast<uint32_t>(pull_backs_.size());
  if (!pull_backs_.empty()) {
    e.pull_back_pages =
        static_cast<double>(std::accumulate(pull_backs_.begin(), pull_backs_.end(), uint64_t{0})) /
        static_cast<double>(pull_backs_.size());
  }
  e.moves = static_cast<uint32_t>(downtimes_us_.size());
  if (!downtimes_us_.empty()) {
    e.downtime_us = Median(downtimes_us_);
    e.costs.vcpu_move_us = e.downtime_us + e.pull_back_pages * e.costs.page_fault_us;
  }
  return e;
}

}  // namespace ssivm::migrate

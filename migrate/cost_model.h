// The placement's costs as the running VM measures them, so that the policy
// (placement.h) weighs moves by this cluster's numbers instead of guesses:
//   - a remote page fault: the median wait of the coordinator's own faults
//     (the fault engine's log2 histogram of the time from the uffd event to
//     the page in place);
//   - a vCPU move: the median downtime of the recent moves plus the pages a
//     moved vCPU pulls back from the node it left, in the window after the
//     move (its stack and what it wrote there), at the measured fault cost.
// Until there is enough to measure, the prior (PlacementCosts' defaults)
// stands. Pure logic: fed by the placement driver once per window.
#ifndef SSIVM_MIGRATE_COST_MODEL_H_
#define SSIVM_MIGRATE_COST_MODEL_H_

#include <cstdint>
#include <deque>
#include <span>

#include "migrate/placement.h"

namespace ssivm::migrate {

// What the costs rest on (ssictl status).
struct CostEvidence {
  PlacementCosts costs;
  uint64_t faults = 0;         // faults behind page_fault_us (0: the prior)
  uint32_t moves = 0;          // recent moves behind the downtime (0: the prior)
  double downtime_us = 0;      // their median
  uint32_t pull_backs = 0;     // moves whose next window was seen
  double pull_back_pages = 0;  // their mean
};

class CostModel {
 public:
  // Fewer faults than this leave the prior page fault cost in place.
  static constexpr uint64_t kMinFaults = 32;
  // The moves and pull-backs remembered (the most recent).
  static constexpr size_t kRecent = 16;

  explicit CostModel(PlacementCosts prior = {});

  // The coordinator's faults so far, cumulative: bucket b counts the faults
  // that waited [2^b, 2^(b+1)) us (bucket 0: under 2 us; the last: longer).
  void SetFaultLatencies(std::span<const uint64_t> log2_us);
  void AddMove(double downtime_us);
  // Pages a moved vCPU pulled from the node it left in the window after.
  void AddPullBack(uint64_t pages);

  PlacementCosts costs() const { return evidence().costs; }
  CostEvidence evidence() const;

 private:
  PlacementCosts prior_;
  uint64_t faults_ = 0;
  double page_fault_us_ = 0;
  std::deque<double> downtimes_us_;
  std::deque<uint64_t> pull_backs_;
};

}  // namespace ssivm::migrate

#endif  // SSIVM_MIGRATE_COST_MODEL_H_

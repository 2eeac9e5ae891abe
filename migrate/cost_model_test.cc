#include "migrate/cost_model.h"

#include <array>
#include <cstdint>

#include <gtest/gtest.h>

namespace ssivm::migrate {
namespace {

constexpr PlacementCosts kPrior{.page_fault_us = 50, .vcpu_move_us = 5000};

TEST(CostModel, ThePriorStandsUntilThereIsSomethingToMeasure) {
  CostModel m(kPrior);
  std::array<uint64_t, 20> few{};
  few[3] = CostModel::kMinFaults - 1;
  m.SetFaultLatencies(few);
  const CostEvidence e = m.evidence();
  EXPECT_EQ(e.costs.page_fault_us, 50);
  EXPECT_EQ(e.costs.vcpu_move_us, 5000);
  EXPECT_EQ(e.faults, 0u);
  EXPECT_EQ(e.moves, 0u);
}

TEST(CostModel, AFaultCostsTheMiddleOfTheMedianFaultsBucket) {
  CostModel m(kPrior);
  std::array<uint64_t, 20> h{};
  h[5] = 40;  // [32, 64) us
  h[6] = 50;  // [64, 128) us: the median is here
  h[9] = 20;
  m.SetFaultLatencies(h);
  EXPECT_EQ(m.costs().page_fault_us, 96);
  EXPECT_EQ(m.evidence().faults, 110u);
  // Cumulative: the next call replaces, it does not add.
  h[9] = 500;  // [512, 1024) us
  m.SetFaultLatencies(h);
  EXPECT_EQ(m.costs().page_fault_us, 768);
  h = {};
  h[0] = 100;
  m.SetFaultLatencies(h);
  EXPECT_EQ(m.costs().page_fault_us, 1);
}

TEST(CostModel, AMoveCostsItsMedianDowntimePlusThePagesItPullsBack) {
  CostModel m(kPrior);
  m.AddMove(900);
  m.AddMove(100000);  // one slow move does not make every move slow
  m.AddMove(1100);
  EXPECT_EQ(m.costs().vcpu_move_us, 1100);
  m.AddPullBack(10);
  m.AddPullBack(30);
  const CostEvidence e = m.evidence();
  EXPECT_EQ(e.moves, 3u);
  EXPECT_EQ(e.downtime_us, 1100);
  EXPECT_EQ(e.pull_backs, 2u);
  EXPECT_EQ(e.pull_back_pages, 20);
  EXPECT_EQ(e.costs.vcpu_move_us, 1100 + 20 * 50);  // the prior fault cost until measured
}

TEST(CostModel, OnlyRecentMovesCount) {
  CostModel m(kPrior);
  for (size_t i = 0; i < CostModel::kRecent; ++i) m.AddMove(10000);
  for (size_t i = 0; i < CostModel::kRecent; ++i) m.AddMove(1000);
  EXPECT_EQ(m.costs().vcpu_move_us, 1000);
  EXPECT_EQ(m.evidence().moves, CostModel::kRecent);
  m.AddMove(-5);  // a clock step between nodes: no negative downtime
  EXPECT_GE(m.costs().vcpu_move_us, 0);
}

}  // namespace
}  // namespace ssivm::migrate

#include "migrate/placement.h"

#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"

#include "common/error.h"

namespace ssivm::migrate {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Nodes 0, 1 and 2; vCPUs 0-1 on node 0, 2-3 on node 1, 4-5 on node 2.
Placement View() {
  return {{0, 0, 1, 1, 2, 2}, {0, 1, 2}};
}

// Default costs: 50 us a page, 5 ms a move, gain factor 2, 1 s windows, 5%
// of a window: a window must pull more than 200 pages from one node for a
// move to pay, and at least 1000 for the vCPU to lose 5% of its time.
constexpr uint64_t kWorth = 1000;

using testing::ErrorOf;

auto MoveOf(uint32_t vcpu, NodeId from, NodeId to) {
  return ::testing::AllOf(Field(&PlacementMove::vcpu, vcpu), Field(&PlacementMove::from, from),
                          Field(&PlacementMove::to, to));
}

TEST(Placement, AVcpuThatKeepsPullingFromOneNodeMovesThere) {
  const Placement view = View();
  PlacementPolicy p;
  const std::vector<VcpuFaults> window = {{0, {{2, kWorth}, {1, 10}}}};
  EXPECT_THAT(p.Decide(view, window), IsEmpty()) << "one window is not enough";
  const std::vector<PlacementMove> moves = p.Decide(view, window);
  ASSERT_THAT(moves, ElementsAre(MoveOf(0, 0, 2)));
  EXPECT_THAT(moves[0].why, HasSubstr("pulled 1000 of its 1010 remote pages from node 2"));
}

TEST(Placement, ANodeThatDoesNotWinWindowsInARowGetsNoVcpu) {
  const Placement view = View();
  PlacementPolicy p;
  for (int i = 0; i < 10; ++i) {
    const NodeId from = i % 2 == 0 ? 1 : 2;
    EXPECT_THAT(p.Decide(view, {{0, {{from, kWorth}}}}), IsEmpty()) << "window " << i;
  }
}

TEST(Placement, FewFaultsOrFaultsSpreadOverNodesMoveNothing) {
  const Placement view = View();
  PlacementPolicy p;
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(p.Decide(view, {{0, {{2, 150}}}}), IsEmpty()) << "cheaper to move the pages";
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(p.Decide(view, {{0, {{1, kWorth}, {2, kWorth}}}}), IsEmpty())
        << "no node draws most of them";
  }
  // Faults counted against the vCPU's own node are not remote.
  for (int i = 0; i < 5; ++i) EXPECT_THAT(p.Decide(view, {{0, {{0, 50 * kWorth}}}}), IsEmpty());
}

TEST(Placement, AQuietWindowStartsTheCountAgain) {
  const Placement view = View();
  PlacementPolicy p;
  EXPECT_THAT(p.Decide(view, {{0, {{2, kWorth}}}}), IsEmpty());
  EXPECT_THAT(p.Decide(view, {}), IsEmpty());
  EXPECT_THAT(p.Decide(view, {{0, {{2, kWorth}}}}), IsEmpty());
  EXPECT_THAT(p.Decide(view, {{0, {{2, kWorth}}}}), ElementsAre(MoveOf(0, 0, 2)));
}

TEST(Placement, AVcpuThatMovedStaysForItsCooldown) {
  Placement view = View();
  PlacementConfig c;
  c.cooldown_windows = 3;
  PlacementPolicy p(c);
  p.Decide(view, {{0, {{2, kWorth}}}});
  ASSERT_THAT(p.Decide(view, {{0, {{2, kWorth}}}}), ElementsAre(MoveOf(0, 0, 2)));
  view.vcpu_node[0] = 2;
  // Now it pulls from where it was: it stays 3 windows, then needs 2 more.
  for (int i = 0; i < 4; ++i) {
    EXPECT_THAT(p.Decide(view, {{0, {{0, kWorth}}}}), IsEmpty()) << "window " << i;
  }
  EXPECT_THAT(p.Decide(view, {{0, {{0, kWorth}}}}), ElementsAre(MoveOf(0, 2, 0)));
  // An operator's move starts the cooldown too.
  p.Moved(3);
  for (int i = 0; i < 4; ++i) EXPECT_THAT(p.Decide(view, {{3, {{2, kWorth}}}}), IsEmpty());
  EXPECT_THAT(p.Decide(view, {{3, {{2, kWorth}}}}), ElementsAre(MoveOf(3, 1, 2)));
}

TEST(Placement, PinnedVcpusGoToTheirPinAndStay) {
  const Placement view = View();
  PlacementPolicy p;
  p.Pin(view, 1, 1);
  p.Pin(view, 4, 2);  // where it is already
  EXPECT_EQ(p.PinnedTo(1), 1u);
  const std::vector<PlacementMove> moves = p.Decide(view, {{4, {{0, kWorth}}}});
  ASSERT_THAT(moves, ElementsAre(MoveOf(1, 0, 1)));
  EXPECT_EQ(moves[0].why, "pinned to node 1");
  for (int i = 0; i < 5; ++i)
    EXPECT_THAT(p.Decide(view, {{4, {{0, kWorth}}}}),
                ::testing::Not(::testing::Contains(MoveOf(4, 2, 0))));
  p.Unpin(4);
  EXPECT_FALSE(p.PinnedTo(4).has_value());
  p.Decide(view, {{4, {{0, kWorth}}}});
  EXPECT_THAT(p.Decide(view, {{4, {{0, kWorth}}}}), ::testing::Contains(MoveOf(4, 2, 0)));
}

TEST(Placement, ANodeTakesNoMoreVcpusThanItsLimitLargestGainFirst) {
  const Placement view = View();
  PlacementConfig c;
  c.max_vcpus_per_node = 3;
  PlacementPolicy p(c);
  const std::vector<VcpuFaults> window = {{0, {{2, kWorth}}}, {2, {{2, 3 * kWorth}}}};
  p.Decide(view, window);
  EXPECT_THAT(p.Decide(view, window), ElementsAre(MoveOf(2, 1, 2)));
}

TEST(Placement, FaultsFromANodeThatLeftAreNowhereToGo) {
  Placement view = View();
  view.vcpu_node[4] = view.vcpu_node[5] = 0;
  view.nodes.erase(2);
  PlacementPolicy p;
  for (int i = 0; i < 5; ++i) EXPECT_THAT(p.Decide(view, {{0, {{2, kWorth}}}}), IsEmpty());
}

TEST(Placement, BadInputIsNamedAndChangesNothing) {
  const Placement view = View();
  PlacementPolicy p;
  EXPECT_THAT(ErrorOf([&] { p.Pin(view, 6, 0); }), HasSubstr("cannot pin vCPU 6"));
  EXPECT_THAT(ErrorOf([&] { p.Pin(view, 0, 7); }), HasSubstr("node 7: no such node"));
  EXPECT_FALSE(p.PinnedTo(0).has_value());
  p.Decide(view, {{0, {{2, kWorth}}}});
  EXPECT_THAT(ErrorOf([&] {
                p.Decide(view, {{0, {{2, kWorth}}}, {9, {{1, 1}}}});
              }),
              HasSubstr("fault counts for vCPU 9"));
  // The refused window did not count: one more good one is still needed.
  EXPECT_THAT(p.Decide(view, {{0, {{2, kWorth}}}}), ElementsAre(MoveOf(0, 0, 2)));

  PlacementConfig c;
  c.gain_factor = 0.5;
  EXPECT_THAT(ErrorOf([&] { const PlacementPolicy bad(c); }), HasSubstr("gain_factor 0.5"));
  c = {};
  c.min_share = 0;
  EXPECT_THAT(ErrorOf([&] { const PlacementPolicy bad(c); }), HasSubstr("min_share"));
  c = {};
  c.costs.page_fault_us = 0;
  EXPECT_THAT(ErrorOf([&] { const PlacementPolicy bad(c); }), HasSubstr("costs"));
  c = {};
  c.stable_windows = 0;
  EXPECT_THAT(ErrorOf([&] { const PlacementPolicy bad(c); }), HasSubstr("stable_windows"));
}

// Measured costs change what is worth a move: a window of 300 pages pays for
// a 5 ms move at 50 us a page (15 ms > 2 x 5 ms), not for a 10 ms one
// (windows of 100 ms: 15 ms is more than 5% of one).
TEST(Placement, MeasuredCostsDecideWhatIsWorthAMove) {
  const Placement view = View();
  PlacementPolicy p({.window_us = 100'000});
  p.SetCosts({.page_fault_us = 50, .vcpu_move_us = 10000});
  for (int i = 0; i < 4; ++i) EXPECT_THAT(p.Decide(view, {{0, {{2, 300}}}}), IsEmpty());
  p.SetCosts({.page_fault_us = 50, .vcpu_move_us = 5000});
  p.Decide(view, {{0, {{2, 300}}}});
  const std::vector<PlacementMove> moves = p.Decide(view, {{0, {{2, 300}}}});
  ASSERT_THAT(moves, ElementsAre(MoveOf(0, 0, 2)));
  EXPECT_THAT(moves[0].why, HasSubstr("at 50 us a page, 15% of it; a move costs ~5.0 ms"));

  EXPECT_THAT(ErrorOf([&] { p.SetCosts({.page_fault_us = -1, .vcpu_move_us = 1}); }),
              HasSubstr("costs"));
  EXPECT_EQ(p.costs().page_fault_us, 50) << "refused costs changed nothing";
}

// A vCPU that loses little of its time to remote faults stays, however
// cheap a move: an idle guest's few faults must not gather its vCPUs on one
// node. 100 pages at 400 us = 40 ms a window: 4% of it.
TEST(Placement, AVcpuThatLosesLittleTimeToFaultsStays) {
  const Placement view = View();
  PlacementPolicy p;
  p.SetCosts({.page_fault_us = 400, .vcpu_move_us = 1000});
  for (int i = 0; i < 6; ++i) EXPECT_THAT(p.Decide(view, {{2, {{0, 100}}}}), IsEmpty());
  p.Decide(view, {{2, {{0, 130}}}});  // 52 ms: 5.2%
  EXPECT_THAT(p.Decide(view, {{2, {{0, 130}}}}), ElementsAre(MoveOf(2, 1, 0)));

  PlacementConfig c;
  c.min_stall_share = 1.5;
  EXPECT_THAT(ErrorOf([&] { const PlacementPolicy bad(c); }), HasSubstr("min_stall_share 1.5"));
  c = {};
  c.window_us = 0;
  EXPECT_THAT(ErrorOf([&] { const PlacementPolicy bad(c); }), HasSubstr("window_us"));
}

}  // namespace
}  // namespace ssivm::migrate

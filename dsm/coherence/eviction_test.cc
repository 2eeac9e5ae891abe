// Directed scenarios of eviction: a node gives up copies of pages homed
// elsewhere, by itself (Evict) or to stay within its cache limit, including
// the races with the home's invalidations and forwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "dsm/coherence/coherence_node.h"
#include "dsm/coherence/test_cluster.h"

namespace ssivm::dsm {
namespace {

using ::testing::HasSubstr;
using testing::TestCluster;
using K = Action::Kind;
using DS = CoherenceNode::DirState;

// Node `n` reads (or writes) page `p` homed at node 0 and gets it.
void Get(TestCluster& c, NodeId n, PageNumber p, bool write) {
  c.Fault(n, p, write);
  c.Deliver(n, 0);
  c.Deliver(0, n);
}

// Page 0 is homed at node 0 (homes by p % nodes).
TEST(Eviction, AReadOnlyCopyIsDroppedAndTheHomeForgetsTheSharer) {
  TestCluster c(2, 2);
  Get(c, 1, 0, false);
  const auto a = c.Evict(1, 0);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].kind, K::kDrop);
  EXPECT_TRUE(std::holds_alternative<PutShared>(a[1].message));
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kInvalid);
  c.Deliver(1, 0);
  // The home writes without invalidating anyone: node 1 is no sharer now.
  c.Fault(0, 0, true);
  EXPECT_EQ(c.InFlight(), 0u);
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.node(1).counters().evicted_clean, 1u);
  EXPECT_EQ(c.node(1).counters().cached_pages, 0u);
}

TEST(Eviction, AnOwnedPageGoesHomeWithItsContents) {
  TestCluster c(2, 2);
  Get(c, 1, 0, true);
  c.copy(1, 0).value = 42;  // node 1 writes
  const auto a = c.Evict(1, 0);
  // Protect, then read, drop and send (the executor checks the order).
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].kind, K::kProtect);
  EXPECT_EQ(a[1].kind, K::kSendLocalPage);
  EXPECT_TRUE(a[1].drop_before_send);
  c.Deliver(1, 0);
  EXPECT_EQ(c.node(0).dir_state(0), DS::kExclusive);
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.copy(0, 0).value, 42u);
  EXPECT_EQ(c.node(1).counters().written_back, 1u);
  // Node 1 reads it again: the data comes from the home.
  Get(c, 1, 0, false);
  EXPECT_EQ(c.copy(1, 0).value, 42u);
  EXPECT_EQ(c.Check(0, 42), "");
}

TEST(Eviction, APutSharedCrossingAnInvalidateIsAcknowledgedAllTheSame) {
  TestCluster c(3, 3);
  Get(c, 1, 0, false);
  c.Fault(2, 0, true);
  c.Deliver(2, 0);  // the home invalidates node 1 and waits for its ack
  ASSERT_EQ(c.channel(0, 1).size(), 1u);
  c.Evict(1, 0);    // meanwhile node 1 gives its copy up
  c.Deliver(0, 1);  // the Invalidate finds no copy: acked without a drop
  c.Deliver(1, 0);  // PutShared: the ack to come removes node 1
  EXPECT_TRUE(c.node(0).dir_busy(0));
  c.Deliver(1, 0);  // InvalidateAck: node 2 gets the page
  c.Deliver(0, 2);
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kReadWrite);
  EXPECT_FALSE(c.node(0).dir_busy(0));
  EXPECT_EQ(c.InFlight(), 0u);
}

TEST(Eviction, APutModifiedCrossingAForwardAnswersIt) {
  TestCluster c(3, 3);
  Get(c, 1, 0, true);
  c.copy(1, 0).value = 7;
  c.Fault(2, 0, false);
  c.Deliver(2, 0);  // the home forwards to node 1
  ASSERT_EQ(c.channel(0, 1).size(), 1u);
  c.Evict(1, 0);    // node 1 sends the page home instead
  c.Deliver(1, 0);  // the put answers the forward: node 2 is served
  c.Deliver(0, 2);
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kReadOnly);
  EXPECT_EQ(c.copy(2, 0).value, 7u);
  EXPECT_TRUE(c.Deliver(0, 1).empty());  // the stale Forward: ignored
  EXPECT_EQ(c.node(0).dir_state(0), DS::kShared);
  EXPECT_FALSE(c.node(0).dir_busy(0));
  EXPECT_EQ(c.Check(0, 7), "");
  // A write by node 1 now invalidates node 2 only (node 1 is no sharer).
  c.Fault(1, 0, true);
  c.Deliver(1, 0);
  ASSERT_EQ(c.channel(0, 2).size(), 1u);
  c.Deliver(0, 2);
  c.Deliver(2, 0);
  c.Deliver(0, 1);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.copy(1, 0).value, 7u);
}

TEST(Eviction, ANewRequestAfterAPutIsServedAfterIt) {
  TestCluster c(2, 2);
  Get(c, 1, 0, true);
  c.copy(1, 0).value = 9;
  c.Evict(1, 0);
  c.Fault(1, 0, true);  // the vCPU touches it again at once
  c.Deliver(1, 0);      // PutModified
  c.Deliver(1, 0);      // GetModified
  c.Deliver(0, 1);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.copy(1, 0).value, 9u);
}

TEST(Eviction, OnlyCopiesOfPagesHomedElsewhereWithNoRequestInFlight) {
  TestCluster c(2, 2);
  c.Fault(0, 0, true);  // homed here
  EXPECT_TRUE(c.Evict(0, 0).empty());
  EXPECT_TRUE(c.Evict(1, 0).empty());  // no copy
  Get(c, 1, 0, false);
  c.Fault(1, 0, true);  // an upgrade in flight
  EXPECT_TRUE(c.Evict(1, 0).empty());
}

TEST(Eviction, TheCacheLimitEvictsByClockGivingUsedPagesASecondChance) {
  TestCluster c(2, 2);
  c.node(1).SetCacheLimit(2);
  Get(c, 1, 0, false);
  Get(c, 1, 2, false);
  EXPECT_EQ(c.node(1).counters().cached_pages, 2u);
  // A third page: every page was used since installed, so the hand clears
  // them all once and evicts the oldest.
  c.Fault(1, 4, false);
  c.Deliver(1, 0);
  const auto a = c.Deliver(0, 1);
  EXPECT_EQ(c.node(1).counters().cached_pages, 2u);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kInvalid);
  EXPECT_EQ(c.node(1).local_state(4), LocalState::kReadOnly);
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(std::holds_alternative<PutShared>(a.back().message));
  // Page 2 is touched again (a fault while present): page 4 goes next.
  EXPECT_EQ(c.Fault(1, 2, false).front().kind, K::kWake);
  c.Deliver(1, 0);  // the PutShared of page 0
  Get(c, 1, 6, false);
  EXPECT_EQ(c.node(1).local_state(2), LocalState::kReadOnly);
  EXPECT_EQ(c.node(1).local_state(4), LocalState::kInvalid);
  EXPECT_EQ(c.node(1).counters().evicted_clean, 2u);
}

// A page invalidated while on the clock and fetched again keeps its old
// place there; when the hand reaches it in the call that installed it, it
// still stays: its vCPU has not even run yet (found in review).
TEST(Eviction, APageIsNeverEvictedByTheCallThatInstalledIt) {
  TestCluster c(3, 3);
  c.node(1).SetCacheLimit(2);
  Get(c, 1, 0, false);
  Get(c, 1, 3, false);
  c.Fault(2, 0, true);  // node 2 writes page 0: node 1's copy is invalidated
  c.Deliver(2, 0);
  c.Deliver(0, 1);
  c.Deliver(1, 0);
  c.Deliver(0, 2);
  Get(c, 1, 6, false);
  c.Fault(1, 0, false);  // node 1 reads page 0 again
  c.Deliver(1, 0);
  c.Deliver(0, 2);
  c.Deliver(2, 0);
  c.Deliver(0, 1);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadOnly);
  EXPECT_LE(c.node(1).counters().cached_pages, 2u);
}

// Pages go in the order they came (second chance aside): a stream through
// a 3-page cache keeps the newest pages.
TEST(Eviction, AStreamKeepsTheNewestPages) {
  TestCluster c(2, 2);
  c.node(1).SetCacheLimit(3);
  for (PageNumber p = 0; p <= 22; p += 2) {
    Get(c, 1, p, false);
    while (!c.channel(1, 0).empty()) c.Deliver(1, 0);  // the puts
  }
  for (PageNumber p = 0; p <= 22; p += 2) {
    EXPECT_EQ(c.node(1).local_state(p) != LocalState::kInvalid, p >= 18) << "page " << p;
  }
}

TEST(Eviction, PutsThatContradictTheDirectoryAreViolations) {
  TestCluster c(3, 3);
  try {
    c.node(0).Receive(1, PutShared{0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("node 1 gave up a read-only copy it does not hold"));
  }
  Get(c, 1, 0, true);
  PagePool pool;
  try {
    c.node(0).Receive(2, PutModified{0, pool.Allocate()});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("node 2 wrote back a page it does not own"));
  }
  EXPECT_THROW(c.node(1).Receive(2, PutShared{0}), Error);  // not its home
}

TEST(Eviction, MetadataStaysWithinSixteenBytesAPage) {
  CoherenceNode home(0, [](PageNumber) { return NodeId{0}; });
  for (PageNumber p = 0; p < 65536; ++p) home.AdoptLocalPage(p);  // 256 MiB
  const auto m = home.counters();
  EXPECT_EQ(m.metadata_pages, 65536u);
  EXPECT_LE(static_cast<double>(m.metadata_bytes) / 65536, 16.5);
}

}  // namespace
}  // namespace ssivm::dsm

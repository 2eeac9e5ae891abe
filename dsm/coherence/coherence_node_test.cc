// Directed scenarios of the coherence protocol, including races.
#include "dsm/coherence/coherence_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "dsm/coherence/test_cluster.h"

namespace ssivm::dsm {
namespace {

using ::testing::HasSubstr;
using testing::TestCluster;
using K = Action::Kind;
using DS = CoherenceNode::DirState;

bool HasKind(const std::vector<Action>& a, K k) {
  for (const Action& x : a) {
    if (x.kind == k) return true;
  }
  return false;
}

// Page 0 is homed at node 0, page 1 at node 1 (two nodes, homes by p % 2).
TEST(Coherence, FirstTouchIsAZeroPageWithoutData) {
  TestCluster c(2, 2);
  c.Fault(1, 0, false);
  const auto at_home = c.Deliver(1, 0);
  ASSERT_EQ(c.channel(0, 1).size(), 1u);
  const auto& g = std::get<Grant>(c.channel(0, 1).front().second);
  EXPECT_EQ(g.kind, DataKind::kZero);
  EXPECT_FALSE(HasKind(at_home, K::kSendLocalPage));
  c.Deliver(0, 1);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadOnly);
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kReadOnly);  // home keeps a copy
  EXPECT_EQ(c.node(0).dir_state(0), DS::kShared);
}

TEST(Coherence, HomeLocalFirstWriteNeedsNoMessages) {
  TestCluster c(2, 2);
  const auto a = c.Fault(0, 0, true);
  EXPECT_EQ(c.InFlight(), 0u);
  EXPECT_TRUE(HasKind(a, K::kInstallZero));
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kReadWrite);
}

TEST(Coherence, WriteInvalidatesEveryReaderBeforeTheGrant) {
  TestCluster c(3, 3);
  c.Fault(1, 0, false);
  c.Deliver(1, 0);
  c.Deliver(0, 1);
  c.Fault(2, 0, true);
  c.Deliver(2, 0);
  // Home asked node 1 to invalidate and holds the grant until it acks.
  EXPECT_TRUE(c.node(0).dir_busy(0));
  EXPECT_TRUE(c.channel(0, 2).empty());
  c.Deliver(0, 1);  // Invalidate
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kInvalid);
  c.Deliver(1, 0);  // ack
  c.Deliver(0, 2);  // grant with the data
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kInvalid);
  EXPECT_EQ(c.node(0).dir_state(0), DS::kExclusive);
}

TEST(Coherence, RequestsQueueAtABusyHomeAndRunInOrder) {
  TestCluster c(3, 3);
  c.Fault(1, 0, true);  // node 1 becomes the writer
  c.Deliver(1, 0);
  c.Deliver(0, 1);
  c.copy(1, 0).value = 42;
  c.Fault(2, 0, false);  // GetS: home forwards to node 1
  c.Deliver(2, 0);
  EXPECT_TRUE(c.node(0).dir_busy(0));
  c.Fault(0, 0, true);  // the home's own write waits in the queue
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kInvalid);
  c.Deliver(0, 1);  // Forward(read) -> node 1 keeps a read-only copy
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadOnly);
  c.Deliver(1, 0);  // WriteBack -> grant to 2, then the queued home write runs
  EXPECT_EQ(c.node(0).dir_state(0), DS::kShared);
  EXPECT_TRUE(c.node(0).dir_busy(0));  // invalidating 1 and 2 for the home's write
  c.Deliver(0, 2);                     // grant (data 42), then Invalidate
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kReadOnly);
  EXPECT_EQ(c.copy(2, 0).value, 42u);
  c.Deliver(0, 2);
  c.Deliver(0, 1);
  c.Deliver(2, 0);
  c.Deliver(1, 0);
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.copy(0, 0).value, 42u);
  EXPECT_EQ(c.InFlight(), 0u);
}

TEST(Coherence, UpgradeRacingAnInvalidationGetsTheData) {
  TestCluster c(3, 3);
  for (NodeId n : {1u, 2u}) {  // both read
    c.Fault(n, 0, false);
    c.Deliver(n, 0);
    c.Deliver(0, n);
  }
  c.Fault(1, 0, true);  // both upgrade at once
  c.Fault(2, 0, true);
  c.Deliver(1, 0);  // node 1 first: home invalidates node 2
  c.Deliver(2, 0);  // node 2's upgrade queues
  c.Deliver(0, 2);  // node 2 drops its copy although its upgrade is pending
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kInvalid);
  EXPECT_TRUE(c.node(2).pending(0));
  c.Deliver(2, 0);  // ack -> node 1 is the writer; node 2's GetM forwards to node 1
  c.Deliver(0, 1);  // grant for node 1
  c.copy(1, 0).value = 7;
  c.Deliver(0, 1);  // Forward(write)
  c.Deliver(1, 0);  // WriteBack -> grant with data to node 2
  c.Deliver(0, 2);
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.copy(2, 0).value, 7u);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kInvalid);
}

TEST(Coherence, GiveAwayOrderIsProtectReadSend) {
  TestCluster c(2, 2);
  c.Fault(1, 0, true);
  c.Deliver(1, 0);
  c.Deliver(0, 1);
  c.Fault(0, 0, false);  // the home wants it back: Forward to node 1
  const auto a = c.Deliver(0, 1);
  ASSERT_GE(a.size(), 2u);
  EXPECT_EQ(a[0].kind, K::kProtect);
  EXPECT_EQ(a[1].kind, K::kSendLocalPage);
  EXPECT_FALSE(a[1].drop_before_send);  // a reader: node 1 keeps a read-only copy
}

TEST(Coherence, GivingUpOwnershipDropsBeforeSending) {
  TestCluster c(2, 2);
  c.Fault(1, 0, true);
  c.Deliver(1, 0);
  c.Deliver(0, 1);
  c.Fault(0, 0, true);  // the home wants to write: node 1 must give it up
  const auto a = c.Deliver(0, 1);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].kind, K::kProtect);
  EXPECT_EQ(a[1].kind, K::kSendLocalPage);
  EXPECT_TRUE(a[1].drop_before_send);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kInvalid);
}

// Delivers every message in flight, oldest channel first.
void Settle(TestCluster& c) {
  while (c.InFlight() > 0) {
    const auto [from, to] = c.BusyChannels().front();
    c.Deliver(from, to);
  }
}

TEST(Coherence, MigratoryPagesAreGrantedExclusiveOnARead) {
  TestCluster c(3, 1);  // every page homed at node 0
  c.Fault(1, 0, true);
  Settle(c);
  // Node 2 reads what node 1 wrote, then writes it: the data migrates.
  c.Fault(2, 0, false);
  Settle(c);
  EXPECT_EQ(c.node(0).dir_state(0), DS::kShared);
  c.Fault(2, 0, true);
  Settle(c);
  // Now a read takes ownership at once: no shared copy, no later upgrade.
  c.Fault(1, 0, false);
  Settle(c);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kInvalid);
  EXPECT_EQ(c.node(0).dir_state(0), DS::kExclusive);
  // Only for a while: without a new read-then-write the mode runs out and
  // reads share again.
  NodeId reader = 2;
  for (uint32_t i = 1; i < CoherenceNode::kMigratoryGrants; ++i, reader = 3 - reader) {
    c.Fault(reader, 0, false);
    Settle(c);
    EXPECT_EQ(c.node(reader).local_state(0), LocalState::kReadWrite) << "read " << i;
  }
  c.Fault(reader, 0, false);
  Settle(c);
  EXPECT_EQ(c.node(0).dir_state(0), DS::kShared);
  EXPECT_EQ(c.node(reader).local_state(0), LocalState::kReadOnly);
}

TEST(Coherence, ReadSharedPagesStayShared) {
  TestCluster c(3, 1);
  c.Fault(1, 0, true);
  Settle(c);
  c.Fault(2, 0, false);
  Settle(c);
  c.Fault(1, 0, false);  // a second reader: no migration
  Settle(c);
  EXPECT_EQ(c.node(0).dir_state(0), DS::kShared);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadOnly);
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kReadOnly);
}

TEST(Coherence, ReplicatedPagesAreReadEverywhereAndInvalidatedOnWrite) {
  TestCluster c(3, 3);
  for (NodeId n = 0; n < 3; ++n) {
    c.node(n).AdoptReplicatedPage(0, {0, 1, 2});
    c.copy(n, 0) = {LocalState::kReadOnly, 0};
  }
  EXPECT_EQ(c.node(0).dir_state(0), DS::kShared);
  EXPECT_TRUE(c.Fault(2, 0, false).size() == 1);  // already readable: just a wake
  EXPECT_EQ(c.InFlight(), 0u);
  c.Fault(1, 0, true);  // a write: every other copy goes first
  c.Deliver(1, 0);
  c.Deliver(0, 2);
  c.Deliver(2, 0);
  c.Deliver(0, 1);
  EXPECT_EQ(c.node(1).local_state(0), LocalState::kReadWrite);
  EXPECT_EQ(c.node(2).local_state(0), LocalState::kInvalid);
  EXPECT_EQ(c.node(0).local_state(0), LocalState::kInvalid);
}

TEST(Coherence, ProtocolViolationsNameThePeer) {
  CoherenceNode home(0, [](PageNumber) { return NodeId{0}; });
  try {
    home.Receive(3, InvalidateAck{5});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("node 3"));
    EXPECT_THAT(e.what(), HasSubstr("page 0x5"));
  }
  EXPECT_THROW(home.Receive(3, WriteBack{5, true, {}}), Error);
  EXPECT_THROW(home.Receive(3, Grant{5, Access::kRead, DataKind::kZero, {}}), Error);
  EXPECT_THROW(home.Receive(0, GetShared{5}), Error);  // "from" myself over the wire
  EXPECT_THROW(home.Receive(99, GetShared{5}), Error);
  CoherenceNode other(1, [](PageNumber) { return NodeId{0}; });
  EXPECT_THROW(other.Receive(2, GetShared{5}), Error);   // not its home
  EXPECT_THROW(other.Receive(0, Invalidate{5}), Error);  // holds no copy
  EXPECT_THROW(other.Receive(0, Forward{5, Access::kRead}), Error);
}

// A node asks again for a page only once answered: a request that repeats a
// queued one is a violation, so a peer cannot grow the home's queue.
TEST(Coherence, ARequestRepeatedWhileQueuedIsAViolation) {
  TestCluster c(3, 3);
  c.Fault(1, 0, true);  // node 1 becomes the writer
  c.Deliver(1, 0);
  c.Deliver(0, 1);
  c.Fault(2, 0, false);  // GetS: the home forwards to node 1 and is busy
  c.Deliver(2, 0);
  ASSERT_TRUE(c.node(0).dir_busy(0));
  EXPECT_TRUE(c.node(0).Receive(1, GetShared{0}).empty());  // queued behind node 2's
  try {
    c.node(0).Receive(1, GetModified{0});
    FAIL() << "a second queued request of node 1 was taken";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("node 1 asked again before its request was answered"));
  }
}

}  // namespace
}  // namespace ssivm::dsm

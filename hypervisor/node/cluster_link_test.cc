// Three nodes' links over the real TCP transport on loopback (node 2 runs
// no vCPUs).
#include "hypervisor/node/cluster_link.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/transport/loopback_mesh.h"
#include "common/error.h"

namespace ssivm {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A device on node 0 that remembers writes and answers reads.
class Scratch final : public PioDevice {
 public:
  uint32_t Read(uint16_t offset, uint8_t) override { return 0x1000 + offset + last_; }
  void Write(uint16_t, uint8_t, uint32_t value) override { last_ = value; }
  uint32_t last_ = 0;
};

// A device on node 0 whose writes block until the test opens it (as the
// UART does on a paused terminal).
class Gate final : public PioDevice {
 public:
  uint32_t Read(uint16_t, uint8_t) override { return 0; }
  void Write(uint16_t, uint8_t, uint32_t) override {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 60s, [this] { return entered_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

struct Side {
  VmStop stop;
  std::unique_ptr<cluster::TcpTransport> transport;
  std::unique_ptr<ClusterLink> link;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<uint32_t, uint8_t>> interrupts;
};

// vCPUs 0,1 on node 0; vCPUs 2,3 on node 1; node 2 runs none.
cluster::ClusterView View() {
  provision::ClusterManifest m;
  m.cluster_id = "links";
  m.epoch = 1;
  m.guest.vcpus_total = 5;
  m.nodes.push_back({0, "n0", "n0", "127.0.0.1:1", {0, 1}, 64});
  m.nodes.push_back({1, "n1", "n1", "127.0.0.1:2", {2, 3}, 64});
  m.nodes.push_back({2, "n2", "n2", "127.0.0.1:3", {4, 4}, 64});
  cluster::ClusterView v = cluster::ClusterView::FromManifest(m);
  v.Apply({1, cluster::MoveVcpu{4, 1}});
  return v;
}

class Links : public ::testing::Test {
 protected:
  void SetUp() override {
    auto transports = cluster::ConnectLoopbackMesh(3, cluster::TransportSecurity::kEncrypted, 9);
    bus_.Register(0x500, 8, "scratch", &scratch_);
    bus_.Register(0x600, 1, "gate", &gate_);
    for (cluster::NodeId i = 0; i < 3; ++i) {
      Side& s = sides_[i];
      s.transport = std::move(transports[i]);
      s.link = std::make_unique<ClusterLink>(i, View(), *s.transport, s.stop,
                                             [&s](uint32_t v, uint8_t vec) {
                                               std::lock_guard<std::mutex> l(s.mu);
                                               s.interrupts.emplace_back(v, vec);
                                               s.cv.notify_all();
                                             });
      if (i == 0) s.link->set_devices(&bus_);
      s.transport->Start();
    }
  }
  void TearDown() override {
    for (Side& s : sides_) s.link->Abort();
    for (Side& s : sides_) s.transport->Stop();
  }
  // Until `s` has been handed `n` interrupts (false after 30 s).
  static bool WaitInterrupts(Side& s, size_t n) {
    std::unique_lock<std::mutex> l(s.mu);
    return s.cv.wait_for(l, 30s, [&] { return s.interrupts.size() >= n; });
  }
  bool WaitStop(Side& s) {
    for (int i = 0; i < 600 && !s.stop.requested(); ++i) std::this_thread::sleep_for(50ms);
    return s.stop.requested();
  }
  Scratch scratch_;
  Gate gate_;
  IoBus bus_;
  Side sides_[3];
};

TEST_F(Links, InterruptsGoToTheNodeThatRunsTheVcpu) {
  sides_[0].link->SendInterrupt(1, 0x40);  // local
  sides_[0].link->SendInterrupt(3, 0x41);  // forwarded to node 1
  ASSERT_TRUE(WaitInterrupts(sides_[1], 1));
  EXPECT_EQ(sides_[0].interrupts, (std::vector<std::pair<uint32_t, uint8_t>>{{1, 0x40}}));
  EXPECT_EQ(sides_[1].interrupts, (std::vector<std::pair<uint32_t, uint8_t>>{{3, 0x41}}));
}

// The location table is the view's: once every node applied a move,
// interrupts for the vCPU go to its new node.
TEST_F(Links, InterruptsFollowAVcpuThatMoved) {
  for (Side& s : sides_) s.link->ApplyViewChange({2, cluster::MoveVcpu{3, 2}});
  EXPECT_EQ(sides_[1].link->view().NodeOfVcpu(3), 2u);
  sides_[0].link->SendInterrupt(3, 0x43);
  ASSERT_TRUE(WaitInterrupts(sides_[2], 1));
  EXPECT_EQ(sides_[2].interrupts, (std::vector<std::pair<uint32_t, uint8_t>>{{3, 0x43}}));
  // A change decided on an old view is refused and changes nothing.
  EXPECT_THROW(sides_[0].link->ApplyViewChange({2, cluster::MoveVcpu{3, 0}}), Error);
  EXPECT_EQ(sides_[0].link->view().NodeOfVcpu(3), 2u);
}

// While a move is under way some nodes route by the old view: an interrupt
// that reaches the old node is passed on to the new one, not lost.
TEST_F(Links, AnInterruptThatReachesTheOldNodeFollowsTheVcpu) {
  for (cluster::NodeId n : {1u, 2u}) sides_[n].link->ApplyViewChange({2, cluster::MoveVcpu{3, 2}});
  sides_[0].link->SendInterrupt(3, 0x44);  // node 0 still thinks node 1 runs vCPU 3
  ASSERT_TRUE(WaitInterrupts(sides_[2], 1));
  EXPECT_EQ(sides_[2].interrupts, (std::vector<std::pair<uint32_t, uint8_t>>{{3, 0x44}}));
  EXPECT_TRUE(sides_[1].interrupts.empty());
  EXPECT_FALSE(sides_[1].stop.requested());
}

// A vCPU whose state arrived but is not restored yet: its interrupts wait
// (restoring its LAPIC would lose them), then come in order.
TEST_F(Links, InterruptsForAnArrivingVcpuAreHeldUntilItRuns) {
  sides_[2].link->ArriveHeld(3, [](cluster::ClusterView& v) {
    v.Apply({2, cluster::MoveVcpu{3, 2}});
  });
  sides_[2].link->SendInterrupt(3, 0x46);
  sides_[2].link->SendInterrupt(3, 0x47);
  EXPECT_TRUE(sides_[2].interrupts.empty());
  sides_[2].link->ReleaseHeld(3);
  EXPECT_EQ(sides_[2].interrupts,
            (std::vector<std::pair<uint32_t, uint8_t>>{{3, 0x46}, {3, 0x47}}));
  sides_[2].link->SendInterrupt(3, 0x48);  // delivered at once now
  EXPECT_EQ(sides_[2].interrupts.size(), 3u);
}

// Passing on is bounded: views that point in a circle stop the VM instead of
// bouncing an interrupt forever.
TEST_F(Links, AnInterruptPassedOnTooOftenStopsTheVm) {
  sides_[1].link->ApplyViewChange({2, cluster::MoveVcpu{4, 2}});
  cluster::SendControl(*sides_[0].transport, 1,
                       cluster::InterruptRequest{4, 0x45, ClusterLink::kMaxInterruptHops});
  ASSERT_TRUE(WaitStop(sides_[1]));
  EXPECT_THAT(sides_[1].stop.reason()->message, HasSubstr("4 hops"));
}

TEST_F(Links, PortAccessesAreForwardedToTheDeviceNode) {
  RemoteDevice remote(*sides_[1].link, 0, 0x500);
  remote.Write(0, 4, 7);
  EXPECT_EQ(scratch_.last_, 7u);
  EXPECT_EQ(remote.Read(2, 2), 0x1000u + 2 + 7);
  EXPECT_EQ(remote.Read(2, 1), (0x1000u + 2 + 7) & 0xff);  // only `size` bytes come back
}

// A device that blocks holds up only the forwarded I/O behind it, never the
// messages the node receives (coherence traffic, interrupts).
TEST_F(Links, ABlockedDeviceDoesNotStallWhatTheNodeReceives) {
  std::thread writer([&] {
    RemoteDevice remote(*sides_[1].link, 0, 0x600);
    remote.Write(0, 1, 1);  // blocks in the gate on node 0
  });
  ASSERT_TRUE(gate_.WaitEntered());
  sides_[2].link->SendInterrupt(1, 0x42);  // vCPU 1 runs on node 0
  EXPECT_TRUE(WaitInterrupts(sides_[0], 1))
      << "node 0 received nothing while a device access blocked";
  gate_.Open();
  writer.join();
  // The next forwarded access is served after the blocked one.
  RemoteDevice remote(*sides_[1].link, 0, 0x500);
  remote.Write(0, 4, 9);
  EXPECT_EQ(scratch_.last_, 9u);
}

// A forwarded access whose answer does not come within the stall time is
// reported, naming the port and the node (the device here blocks).
TEST_F(Links, AForwardedAccessThatWaitsTooLongIsReportedByPort) {
  std::mutex mu;
  std::condition_variable cv;
  std::string report;
  sides_[1].link->ReportStallsAfter(200ms, [&](const std::string& r) {
    std::lock_guard<std::mutex> l(mu);
    report = r;
    cv.notify_all();
  });
  std::thread writer([&] {
    RemoteDevice remote(*sides_[1].link, 0, 0x600);
    remote.Write(0, 1, 1);  // blocks in the gate on node 0
  });
  ASSERT_TRUE(gate_.WaitEntered());
  {
    std::unique_lock<std::mutex> l(mu);
    EXPECT_TRUE(cv.wait_for(l, 60s, [&] { return !report.empty(); }));
  }
  gate_.Open();
  writer.join();
  EXPECT_THAT(report, HasSubstr("port write of 1 byte(s) at port 0x600, forwarded to node 0"));
}

TEST_F(Links, ShutdownReachesEveryNode) {
  sides_[0].link->BroadcastShutdown(7);
  ASSERT_TRUE(WaitStop(sides_[1]));
  EXPECT_EQ(sides_[1].stop.reason()->status, 7);
  EXPECT_THAT(sides_[1].stop.reason()->message, HasSubstr("node 0 stopped the VM"));
}

// Node 1 heard node 0's shutdown before node 2 did: it relays it, so node 2
// stops for node 0's reason even if node 1's connection closes first.
TEST_F(Links, AShutdownIsRelayedWithItsOrigin) {
  cluster::SendControl(*sides_[0].transport, 1, cluster::Shutdown{7, 0});
  ASSERT_TRUE(WaitStop(sides_[1]));
  sides_[1].link->BroadcastShutdown(sides_[1].stop.reason()->status);
  sides_[1].transport->Stop();
  ASSERT_TRUE(WaitStop(sides_[2]));
  EXPECT_EQ(sides_[2].stop.reason()->status, 7);
  EXPECT_THAT(sides_[2].stop.reason()->message,
              HasSubstr("node 0 stopped the VM (status 7; relayed by node 1)"));
}

TEST_F(Links, APeerForgingInterruptsIsStopped) {
  // The guest has 5 vCPUs: there is no vCPU 99 to interrupt.
  cluster::SendControl(*sides_[0].transport, 1, cluster::InterruptRequest{99, 0x40});
  ASSERT_TRUE(WaitStop(sides_[1]));
  EXPECT_EQ(sides_[1].stop.reason()->status, kExitPeerLost);
  EXPECT_THAT(sides_[1].stop.reason()->message, HasSubstr("does not run"));
}

TEST_F(Links, APeerReachingAPortThatIsNotForwardedIsStopped) {
  cluster::SendControl(*sides_[1].transport, 0, cluster::IoRequest{1, 0, 0x70, 1, false, 0});
  ASSERT_TRUE(WaitStop(sides_[0]));
  EXPECT_EQ(sides_[0].stop.reason()->status, kExitPeerLost);
  EXPECT_THAT(sides_[0].stop.reason()->message,
              HasSubstr("node 1 forwarded I/O to port 0x70, which node 0 does not serve"));
}

// Each vCPU waits for its forwarded access: a peer with more waiting than it
// has vCPUs (node 1 has three) breaks the protocol, and cannot grow the queue.
TEST_F(Links, APeerFloodingForwardedIoIsStopped) {
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    cluster::SendControl(*sides_[1].transport, 0, cluster::IoRequest{seq, 0, 0x600, 1, true, 1});
  }
  ASSERT_TRUE(WaitStop(sides_[0]));
  EXPECT_THAT(sides_[0].stop.reason()->message,
              HasSubstr("node 1 has more forwarded I/O waiting than it has vCPUs (3)"));
  gate_.Open();
}

TEST_F(Links, ALostPeerStopsTheNodeAndFreesWaiters) {
  sides_[0].transport->Stop();
  ASSERT_TRUE(WaitStop(sides_[1]));
  EXPECT_EQ(sides_[1].stop.reason()->status, kExitPeerLost);
  EXPECT_THAT(sides_[1].stop.reason()->message, HasSubstr("lost node 0 (127.0.0.1:"));
  RemoteDevice remote(*sides_[1].link, 0, 0x500);
  EXPECT_EQ(remote.Read(0, 1), 0xffffffffu);  // does not hang
}

}  // namespace
}  // namespace ssivm

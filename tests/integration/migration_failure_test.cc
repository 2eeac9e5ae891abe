// Nodes that fail during a live vCPU migration (docs/migration.md, "Limits"):
// a target that dies in the middle of a move, or a source that dies after it
// sent the vCPU, stops every other node with a report naming the dead one;
// the vCPU never runs on two nodes, and never on none without a report. A
// target that is only slow completes the move.
//
// No hooks in the nodes: the test freezes the target (SIGSTOP) before the
// move, so the move stops at a known step, the source's state sent and not
// yet taken in, and there kills (SIGKILL) or resumes (SIGCONT) nodes.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/exit_status.h"
#include "tests/support/emulation.h"
#include "tests/support/local_nodes.h"
#include "tests/support/node_process.h"

namespace ssivm {
namespace {

using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using testing::LocalNodes;
using testing::NodeProcess;
using ::testing::Not;
using testing::PortBase;
using testing::VmTimeout;

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kVcpu = 1;
constexpr uint32_t kSource = 1;
constexpr uint32_t kTarget = 2;

// The move of vCPU 1 from node 1 (the source) to node 2 (the target), in a
// guest of three nodes with one vCPU each that idles at its login prompt
// (node 0 coordinates), caught with the target frozen: the source has paused
// vCPU 1 and sent its state, which the target has not read. So the vCPU runs
// nowhere, and the coordinator's move waits for the target.
class FrozenTarget : public ::testing::Test {
 protected:
  void FreezeTargetMidMove(const std::string& name, uint16_t port) {
    vm_ = std::make_unique<LocalNodes>(
        name, port, "ssi.shell=1",
        testing::LocalNodesConfig{.nodes = 3,
                                  // The test freezes nodes for seconds and kills them itself: a
                                  // silent node must not be found dead meanwhile (the machine is
                                  // shared and slow).
                                  .manifest_top = "heartbeat_timeout_ms = 60000\n",
                                  // Only the test moves vCPUs.
                                  .node0_args = {"--placement", "off"},
                                  .logs_in_output = true});
    ASSERT_TRUE(vm_->node0().WaitFor("ssivm login: ", VmTimeout(seconds(180))))
        << vm_->node0().out();
    // An idle guest's CPUs read each other's per-CPU data at every tick, so
    // the source's vCPU would soon wait for a page from the frozen target,
    // and a vCPU waiting for a page cannot be paused: the move would not
    // start. With vCPU 2 on node 0, the target runs nothing, and once the
    // pages vCPU 2 used there have followed it, nothing the running vCPUs
    // touch is left on the target.
    const nlohmann::json away = vm_->Migrate(2, 0);
    ASSERT_EQ(away["to"], 0) << away;
    ASSERT_NO_FATAL_FAILURE(WaitUntilQuiet(kTarget));

    ASSERT_TRUE(vm_->node(kTarget).Signal(SIGSTOP));
    // The request blocks until the move ends.
    move_ = std::async(std::launch::async, [vm = vm_.get()]() -> nlohmann::json {
      try {
        return vm->Request(0, LocalNodes::MigrateRequest(kVcpu, kTarget));
      } catch (const std::exception& e) {  // no answer: the connection ended
        return {{"no_answer", e.what()}};
      }
    });
    ASSERT_TRUE(vm_->node0().WaitFor("moving vCPU 1 from node 1 to node 2", seconds(60)))
        << vm_->node0().out();
    // The source's view moves the vCPU to the target under the same lock
    // as it queues the state, so a status without vCPU 1 comes after the
    // whole state went to the target's socket. Polled: nothing else tells.
    const auto deadline = std::chrono::steady_clock::now() + VmTimeout(seconds(60));
    while (std::ranges::count(vm_->VcpusOf(kSource), kVcpu) != 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "node 1 never sent vCPU 1";
      // Waiting on the answer: a move that ended early ends the wait.
      ASSERT_EQ(move_.wait_for(milliseconds(100)), std::future_status::timeout)
          << "the move ended before node 1 sent vCPU 1: " << move_.get();
    }
    ASSERT_EQ(move_.wait_for(milliseconds(0)), std::future_status::timeout) << move_.get();
  }

  // Until `node` exchanges no DSM message for a second while the guest
  // idles (each idle vCPU ticks 100 times a second): nothing the running
  // vCPUs touch is there. A quiet time, not an event: absence has none.
  void WaitUntilQuiet(uint32_t node) {
    const auto messages = [&] {
      return vm_->Ask(node, {{"cmd", "status"}})["dsm"]["messages"].get<uint64_t>();
    };
    const auto deadline = std::chrono::steady_clock::now() + VmTimeout(seconds(60));
    uint64_t last = messages();
    for (int quiet_polls = 0; quiet_polls < 5;) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "node " << node << " kept exchanging pages with the others";
      std::this_thread::sleep_for(milliseconds(200));
      const uint64_t now = messages();
      quiet_polls = now == last ? quiet_polls + 1 : 0;
      last = now;
    }
  }

  // Every node but `dead` ends with a lost peer's status and report: it
  // names `dead`, or relays the stop of a node that did (whichever it read
  // first: every node has a connection to every other), and one names it.
  void ExpectTheOthersStopNaming(uint32_t dead) {
    const std::string named = fmt::format("lost node {} (127.0.0.1:", dead);
    const std::string relayed = "node [0-9] stopped the VM \\(status 126\\)";
    bool someone_named = false;
    for (uint32_t n = 0; n < 3; ++n) {
      if (n == dead) continue;
      NodeProcess& node = vm_->node(n);
      EXPECT_EQ(node.WaitExit(seconds(120)), kExitPeerLost) << "node " << n << ":\n" << node.out();
      EXPECT_THAT(node.out(), AnyOf(HasSubstr(named), ContainsRegex(relayed))) << "node " << n;
      someone_named = someone_named || node.out().find(named) != std::string::npos;
    }
    EXPECT_TRUE(someone_named) << "no node reported losing node " << dead;
    // The move never completed: the coordinator answers its request when it
    // stops.
    ASSERT_EQ(move_.wait_for(seconds(60)), std::future_status::ready);
    const nlohmann::json answer = move_.get();
    EXPECT_EQ(answer.value("error", ""), "the VM stopped while vCPU 1 moved from node 1 to node 2")
        << answer;
  }

  // Destroyed after the nodes (members go in reverse order): their end
  // answers a request still waiting.
  std::future<nlohmann::json> move_;
  std::unique_ptr<LocalNodes> vm_;
};

// The target dies holding the only copy of the vCPU's state, unread. The
// source never resumes the vCPU (it sent it): everyone stops, naming node 2.
TEST_F(FrozenTarget, ATargetThatDiesMidMoveStopsTheOthersNamingIt) {
  ASSERT_NO_FATAL_FAILURE(FreezeTargetMidMove("target", PortBase()));
  ASSERT_TRUE(vm_->node(kTarget).Signal(SIGKILL));
  EXPECT_EQ(vm_->node(kTarget).WaitExit(seconds(60)), kExitSignalBase + SIGKILL);
  ExpectTheOthersStopNaming(kTarget);
}

// The source dies after it sent the vCPU; then the target reads what came:
// all of the state (it may restore the vCPU and run it, the one copy, until
// it reads that the source is gone) or a part of it (the connection was
// reset). Either way every other node stops, naming node 1, and the target
// does not hang.
TEST_F(FrozenTarget, ASourceThatDiesAfterSendingStopsTheOthersNamingIt) {
  ASSERT_NO_FATAL_FAILURE(FreezeTargetMidMove("source", PortBase() + 10));
  ASSERT_TRUE(vm_->node(kSource).Signal(SIGKILL));
  EXPECT_EQ(vm_->node(kSource).WaitExit(seconds(60)), kExitSignalBase + SIGKILL);
  ASSERT_TRUE(vm_->node(kTarget).Signal(SIGCONT));
  ExpectTheOthersStopNaming(kSource);
}

// A target that is only slow (frozen for a second, as on a busy host) is no
// failure: the move completes when it runs again, and the guest goes on
// with its CPU there.
TEST_F(FrozenTarget, ATargetThatIsOnlySlowCompletesTheMove) {
  ASSERT_NO_FATAL_FAILURE(FreezeTargetMidMove("slow", PortBase() + 20));
  // Meanwhile node 0 answers its status, and refuses a second move at once:
  // one at a time, and nothing changes.
  EXPECT_EQ(vm_->VcpusOf(0), (std::vector<uint32_t>{0, 2}));
  EXPECT_THAT(vm_->Refusal(0, LocalNodes::MigrateRequest(2, 1)),
              HasSubstr("vCPU 1 is being moved from node 1 to node 2: one move at a time"));
  EXPECT_THAT(vm_->Refusal(0, LocalNodes::MigrateRequest(1, 0)), HasSubstr("one move at a time"));
  EXPECT_EQ(vm_->VcpusOf(0), (std::vector<uint32_t>{0, 2}));
  // An interrupt in flight to the moving vCPU: CPU 0 sends an IPI to CPU 1
  // and waits until CPU 1 took it. Node 0 still routes to node 1, which
  // passes it on to the target, behind the state; it must be taken once the
  // vCPU runs there.
  NodeProcess& console = vm_->node0();
  ASSERT_TRUE(console.Type("admin\r\nrun ipi 1\r\n"));
  const auto deadline = std::chrono::steady_clock::now() + VmTimeout(seconds(60));
  while (vm_->Ask(kSource, {{"cmd", "status"}})["migration"]["interrupts_passed_on"] == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "node 1 passed no interrupt on to the target:\n"
        << console.out();
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_THAT(console.out(), Not(HasSubstr("RESULT ipi"))) << "taken before the vCPU ran again";
  // How slow the target is, not a wait for anything.
  std::this_thread::sleep_for(seconds(1));
  ASSERT_TRUE(vm_->node(kTarget).Signal(SIGCONT));
  ASSERT_EQ(move_.wait_for(VmTimeout(seconds(60))), std::future_status::ready);
  const nlohmann::json moved = move_.get();
  EXPECT_EQ(moved["ok"], true) << moved;
  EXPECT_EQ(moved["from"], kSource) << moved;
  EXPECT_EQ(moved["to"], kTarget) << moved;
  // The vCPU ran nowhere from its pause on the source, before the second
  // above, to its resumption on the target.
  EXPECT_GT(moved["downtime_us"].get<double>(), 1e6) << moved;
  EXPECT_GT(moved["state_bytes"].get<uint32_t>(), 65536u) << moved;
  EXPECT_EQ(vm_->VcpusOf(0), (std::vector<uint32_t>{0, 2}));
  EXPECT_THAT(vm_->VcpusOf(kSource), Not(Contains(kVcpu)));
  EXPECT_EQ(vm_->VcpusOf(kTarget), std::vector<uint32_t>{kVcpu});

  // The IPI sent during the move was taken (each of the other CPUs took one);
  // the guest's CPU table shows cpu 1 on node 2 (columns cpu, node, apic);
  // the counter's threads on every CPU get exact totals; then it powers off.
  EXPECT_TRUE(console.WaitFor("RESULT ipi PASS cpus=3 ipis=2 ", VmTimeout(seconds(60))))
      << console.out();
  ASSERT_TRUE(console.Type("cpus\r\nrun counter\r\npoweroff\r\n"));
  for (uint32_t n = 0; n < 3; ++n) {
    EXPECT_EQ(vm_->node(n).WaitExit(VmTimeout(seconds(120))), 0) << "node " << n << ":\n"
                                                                 << vm_->node(n).out();
  }
  EXPECT_THAT(console.out(), ContainsRegex("\n +1 +2 +1 ")) << console.out();
  EXPECT_THAT(console.out(), HasSubstr("RESULT counter PASS")) << console.out();
}

}  // namespace
}  // namespace ssivm

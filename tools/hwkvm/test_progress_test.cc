#include "tools/hwkvm/test_progress.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::hwkvm {
namespace {

const CaseId kA{"Cluster", "Boots"};
const CaseId kB{"Shapes/Cluster", "Runs/3nodes"};
const CaseId kC{"Cluster", "Stops"};

std::string Plan() {
  return PlanLine(kA) + PlanLine(kB) + PlanLine(kC);
}

std::string Ended(const CaseId& id, CaseOutcome o, const std::string& message = "") {
  CaseEnd e;
  e.id = id;
  e.outcome = o;
  e.seconds = 1.5;
  e.message = message;
  return StartLine(id) + EndLine(e);
}

TEST(TestProgress, LinesRoundTripAndATornLastLineIsIgnored) {
  const std::string text = Plan() + Ended(kA, CaseOutcome::kFailed, "x.cc:3: \"bad\"\n<&>") +
                           StartLine(kB) + R"({"event":"end","su)";
  const RunProgress p = ParseProgress(text);
  ASSERT_EQ(p.planned.size(), 3u);
  EXPECT_EQ(p.planned[1], kB);
  ASSERT_EQ(p.ended.size(), 1u);
  EXPECT_EQ(p.ended[0].id, kA);
  EXPECT_EQ(p.ended[0].outcome, CaseOutcome::kFailed);
  EXPECT_DOUBLE_EQ(p.ended[0].seconds, 1.5);
  EXPECT_EQ(p.ended[0].message, "x.cc:3: \"bad\"\n<&>");
  ASSERT_TRUE(p.in_flight.has_value());
  EXPECT_EQ(*p.in_flight, kB);
}

TEST(TestProgress, LinesThatAreNotOursAreErrors) {
  EXPECT_THROW(ParseProgress("hello\n"), Error);
  EXPECT_THROW(ParseProgress("{\"event\":\"plan\"}\n"), Error);
  EXPECT_THROW(ParseProgress("{\"event\":\"jump\",\"suite\":\"a\",\"name\":\"b\"}\n"), Error);
  EXPECT_THROW(ParseProgress("{\"event\":\"end\",\"suite\":\"a\",\"name\":\"b\"}\n"), Error);
  EXPECT_THROW(ParseProgress("[1]\n"), Error);
}

TEST(CaseLedger, AFirstRunThatEndsDecidesEveryCase) {
  CaseLedger l(3);
  EXPECT_TRUE(l.NextRun().rerun_all);
  l.Record(
      ParseProgress(Plan() + Ended(kA, CaseOutcome::kPassed) +
                    Ended(kB, CaseOutcome::kFailed, "boom") + Ended(kC, CaseOutcome::kSkipped)),
      "", 1);
  EXPECT_TRUE(l.NextRun().done);
  const auto r = l.Results();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].outcome, CaseOutcome::kPassed);
  EXPECT_EQ(r[1].outcome, CaseOutcome::kFailed);
  EXPECT_EQ(r[1].message, "boom");
  EXPECT_EQ(r[2].outcome, CaseOutcome::kSkipped);
  EXPECT_EQ(l.failed(), 1);
  EXPECT_TRUE(l.Retried().empty());
}

TEST(CaseLedger, AMachineThatDiesRunsTheCaseItHitAndThoseAfterItAgain) {
  CaseLedger l(3);
  l.Record(ParseProgress(Plan() + Ended(kA, CaseOutcome::kPassed) + StartLine(kB)),
           "the machine closed its channel", 125);
  auto next = l.NextRun();
  ASSERT_FALSE(next.done);
  EXPECT_FALSE(next.rerun_all);
  ASSERT_EQ(next.cases.size(), 2u);
  EXPECT_EQ(next.cases[0], kB);
  EXPECT_EQ(next.cases[1], kC);
  l.Record(ParseProgress(PlanLine(kB) + PlanLine(kC) + Ended(kB, CaseOutcome::kPassed) +
                         Ended(kC, CaseOutcome::kPassed)),
           "", 0);
  EXPECT_TRUE(l.NextRun().done);
  EXPECT_EQ(l.failed(), 0);
  ASSERT_EQ(l.Retried().size(), 1u);
  EXPECT_EQ(l.Retried()[0], kB.FullName());
  EXPECT_EQ(l.Results()[1].attempts, 2);
}

TEST(CaseLedger, ACaseTheFaultHitsInEveryMachineFails) {
  CaseLedger l(2);
  l.Record(ParseProgress(Plan() + Ended(kA, CaseOutcome::kEmulatorFault, "ran in kvm_amd")), "",
           kEmulatorFaultStatus);
  EXPECT_EQ(l.NextRun().cases.size(), 3u);
  l.Record(ParseProgress(Plan() + Ended(kA, CaseOutcome::kEmulatorFault, "ran in kvm_amd")), "",
           kEmulatorFaultStatus);
  const auto next = l.NextRun();
  ASSERT_EQ(next.cases.size(), 2u);
  EXPECT_EQ(next.cases[0], kB);
  ASSERT_EQ(l.Results().size(), 1u);
  EXPECT_EQ(l.Results()[0].outcome, CaseOutcome::kFailed);
  EXPECT_NE(l.Results()[0].message.find("each of its 2 machines"), std::string::npos);
}

TEST(CaseLedger, AProgramThatStopsAtTheFaultAfterAPassLeavesTheRestForANewMachine) {
  CaseLedger l(3);
  l.Record(ParseProgress(Plan() + Ended(kA, CaseOutcome::kPassed)), "", kEmulatorFaultStatus);
  const auto next = l.NextRun();
  ASSERT_EQ(next.cases.size(), 2u);
  EXPECT_EQ(next.cases[0], kB);
  EXPECT_EQ(l.failed(), 0);
}

TEST(CaseLedger, AProgramThatDiesDuringACaseFailsItAndWhatItLeft) {
  CaseLedger l(3);
  // Not the machine: the test program itself ended (a crash).
  l.Record(ParseProgress(Plan() + Ended(kA, CaseOutcome::kPassed) + StartLine(kB)), "", 134);
  EXPECT_TRUE(l.NextRun().done);
  const auto r = l.Results();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].outcome, CaseOutcome::kFailed);
  EXPECT_NE(r[1].message.find("status 134"), std::string::npos);
  EXPECT_EQ(r[2].outcome, CaseOutcome::kFailed);  // never ran
  EXPECT_EQ(l.failed(), 2);
}

TEST(CaseLedger, MachinesThatFailBeforeTheFirstCaseAreBounded) {
  CaseLedger l(2);
  l.Record(RunProgress{}, "not ready after 300 s", 125);
  EXPECT_TRUE(l.NextRun().rerun_all);
  l.Record(RunProgress{}, "not ready after 300 s", 125);
  EXPECT_TRUE(l.NextRun().done);
  EXPECT_FALSE(l.planned());

  CaseLedger m(2);
  m.Record(ParseProgress(Plan()), "QEMU exited", 125);
  EXPECT_EQ(m.NextRun().cases.size(), 3u);
  m.Record(ParseProgress(Plan()), "QEMU exited", 125);
  EXPECT_TRUE(m.NextRun().done);
  EXPECT_EQ(m.failed(), 3);
}

TEST(CaseLedger, AProgramThatSaysNothingRunsOnce) {
  CaseLedger l(3);
  l.Record(RunProgress{}, "", 0);
  EXPECT_TRUE(l.NextRun().done);
  EXPECT_FALSE(l.planned());
}

TEST(CaseLedger, AbandonFailsWhatIsLeftWithItsLastFault) {
  CaseLedger l(3);
  l.Record(ParseProgress(Plan() + StartLine(kA)), "the machine said nothing", 125);
  l.Abandon("no time left");
  const auto r = l.Results();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].message, "no time left; before: the machine said nothing");
  EXPECT_EQ(r[2].message, "no time left");
  EXPECT_TRUE(l.NextRun().done);
}

TEST(JunitXml, CountsAndEscapes) {
  std::vector<CaseResult> r(3);
  r[0].id = kA;
  r[0].outcome = CaseOutcome::kPassed;
  r[1].id = kB;
  r[1].outcome = CaseOutcome::kFailed;
  r[1].message = "a<b & \"c\"\x01";
  r[2].id = kC;
  r[2].outcome = CaseOutcome::kSkipped;
  const std::string x = JunitXml("multinode_test", r);
  EXPECT_NE(x.find("<testsuites tests=\"3\" failures=\"1\" disabled=\"0\" skipped=\"1\""),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("<testsuite name=\"Cluster\" tests=\"2\" failures=\"0\""), std::string::npos);
  EXPECT_NE(x.find("<failure message=\"a&lt;b &amp; &quot;c&quot;?\""), std::string::npos);
  EXPECT_NE(x.find("name=\"Stops\" status=\"run\" result=\"skipped\""), std::string::npos);
}

}  // namespace
}  // namespace ssivm::hwkvm

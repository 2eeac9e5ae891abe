#include "tools/ssictl/run_state.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/temp_dir.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

// What ParseRunState says about `text` ("" if it takes it).
std::string Problem(const std::string& text) {
  try {
    ParseRunState(text);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

TEST(RunState, RoundTrips) {
  const RunState s{
      "lab-1", 1234, 99, {"/run/ssivm/lab-1-node0.sock", "/run/ssivm/lab-1-node1.sock"}};
  const RunState back = ParseRunState(RunStateText(s));
  EXPECT_EQ(back.name, s.name);
  EXPECT_EQ(back.pid, s.pid);
  EXPECT_EQ(back.start_time, s.start_time);
  EXPECT_EQ(back.control, s.control);
  // Files of earlier versions have no start time.
  EXPECT_EQ(ParseRunState(R"({"name":"a","pid":5,"control":["/s"]})").start_time, 0u);
}

TEST(RunState, MalformedTextGetsAClearErrorNotACrash) {
  EXPECT_EQ(Problem("{not json"), "not JSON");
  EXPECT_EQ(Problem("[1]"), "not a JSON object");
  EXPECT_EQ(Problem(R"({"pid":5,"control":["/s"]})"), "name: missing or not a string");
  EXPECT_THAT(Problem(R"({"name":"../etc","pid":5,"control":["/s"]})"),
              HasSubstr("VM name '../etc': use only letters"));
  EXPECT_THAT(Problem(R"({"name":"a","pid":"5","control":["/s"]})"), HasSubstr("pid: "));
  EXPECT_THAT(Problem(R"({"name":"a","pid":0,"control":["/s"]})"), HasSubstr("pid: "));
  EXPECT_THAT(Problem(R"({"name":"a","pid":1e30,"control":["/s"]})"), HasSubstr("pid: "));
  EXPECT_THAT(Problem(R"({"name":"a","pid":5,"start_time":-1,"control":["/s"]})"),
              HasSubstr("start_time: "));
  EXPECT_THAT(Problem(R"({"name":"a","pid":5,"control":[]})"), HasSubstr("control: "));
  EXPECT_THAT(Problem(R"({"name":"a","pid":5,"control":"/s"})"), HasSubstr("control: "));
  EXPECT_THAT(Problem(R"({"name":"a","pid":5,"control":[7]})"), HasSubstr("control[0]: "));
  EXPECT_THAT(Problem(R"({"name":"a","pid":5,"control":["/s","rel"]})"),
              HasSubstr("control[1]: 'rel' is not an absolute socket path"));
  EXPECT_THAT(Problem(R"({"name":"a","pid":5,"control":[")" + std::string(200, 'x') + "\"]}"),
              HasSubstr("control[0]: "));
}

// A node's status answer is read field by field: what is missing or of
// the wrong type shows as absent, never as an exception that ends ssictl.
TEST(NodeStatus, ShowsWhatItCanReadOfAnyAnswer) {
  const nlohmann::json good =
      nlohmann::json::parse(R"({"vcpus":[2,3],"exits":7,"home_mib":128,"cache_mib":512,)"
                            R"("dsm":{"read_faults":4,"fault_latency":"n=4 p50=40us"},)"
                            R"("links":[{"node":0,"heard_ms_ago":1500}],)"
                            R"("vcpu_pages_from":[{"vcpu":1,"pages_from":{"0":91,"2":3}}]})");
  EXPECT_THAT(NodeStatsColumns(good), ::testing::StartsWith("2,3 "));
  EXPECT_THAT(
      NodeDetailLines(good),
      ::testing::ElementsAre(
          "memory: home of 128 MiB of guest RAM, caches up to 512 MiB of other nodes' pages",
          "fault latency: n=4 p50=40us", "links: node 0 heard 1.5 s ago",
          "vCPU 1 pulled pages: 91 from node 0, 3 from node 2"));
  const nlohmann::json bad = nlohmann::json::parse(
      R"({"vcpus":["a",-1,5],"exits":"x","dsm":5,"home_mib":-1,"cache_mib":"y","links":[3,{"node":"y","heard_ms_ago":"z"}],)"
      R"("vcpu_pages_from":[7,{"vcpu":"x","pages_from":{"0":"y"}},{"pages_from":[1]}]})");
  EXPECT_THAT(NodeStatsColumns(bad), ::testing::StartsWith("5 "));
  EXPECT_THAT(NodeDetailLines(bad), ::testing::ElementsAre("links: node 0 heard 0.0 s ago"));
  EXPECT_TRUE(NodeDetailLines(nlohmann::json::array()).empty());
}

// Node 0's status answer has a placement section: its lines come last.
TEST(NodeStatus, Node0ShowsWhereEachVcpuRuns) {
  const nlohmann::json node0 = nlohmann::json::parse(
      R"({"vcpus":[0],"dsm":{"fault_latency":"n=1"},)"
      R"("placement":{"automatic":false,"vcpus":[{"vcpu":0,"node":0,"migrations":0}]}})");
  EXPECT_THAT(NodeDetailLines(node0), ::testing::ElementsAre("fault latency: n=1", "placement: off",
                                                             "vCPU 0 on node 0, 0 migrations"));
}

TEST(RunState, VmNames) {
  CheckVmName("lab-1.test_2");
  EXPECT_THROW(CheckVmName(""), Error);
  EXPECT_THROW(CheckVmName(std::string(65, 'a')), Error);
  EXPECT_THROW(CheckVmName("a/b"), Error);
  EXPECT_THROW(CheckVmName(".hidden"), Error);
}

class RunDirTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("SSIVM_RUN_DIR", (dir_.path() + "/run").c_str(), 1); }
  void TearDown() override { ::unsetenv("SSIVM_RUN_DIR"); }
  std::string File(const std::string& name) const { return dir_.path() + "/run/" + name; }

  TempDir dir_{"run-state-test"};
};

TEST_F(RunDirTest, TheRunDirectoryIsMadePrivate) {
  EXPECT_EQ(RunDir(), dir_.path() + "/run");
  struct stat st {};
  ASSERT_EQ(::stat(RunDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(RunDirTest, ANameIsRecordedOnceWhileItsSsictlRuns) {
  const RunState mine{"vm", ::getpid(), 0, {ControlPath("vm", 0)}};
  {
    const RunStateFile state(mine);
    ASSERT_EQ(RunningVms().size(), 1u);
    EXPECT_EQ(RunningVms()[0].name, "vm");
    try {
      const RunStateFile second(mine);
      ADD_FAILURE() << "a second VM of a running name was recorded";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("a VM named 'vm' is already running"));
    }
    EXPECT_EQ(RunningVms().size(), 1u);  // the first one's record is intact
  }
  EXPECT_TRUE(RunningVms().empty());
}

TEST_F(RunDirTest, TheRecordOfAnSsictlThatDiedIsReplaced) {
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  RunDir();
  std::ofstream(File("vm.json")) << RunStateText({"vm", dead, 0, {"/x.sock"}});
  const RunStateFile state({"vm", ::getpid(), 0, {"/y.sock"}});
  ASSERT_EQ(RunningVms().size(), 1u);
  EXPECT_EQ(RunningVms()[0].control[0], "/y.sock");
}

TEST_F(RunDirTest, AMalformedFileIsNamedAndSkipped) {
  RunDir();
  std::ofstream(File("bad.json")) << R"({"name":"bad","pid":"twelve","control":["/s"]})";
  std::vector<std::string> problems;
  EXPECT_TRUE(RunningVms(&problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr(File("bad.json") + ": not a valid run-state file: pid: "));
  try {
    const RunStateFile state({"bad", ::getpid(), 0, {"/s"}});
    ADD_FAILURE() << "a malformed record was replaced";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(File("bad.json") + ": not a valid run-state file"));
  }
}

}  // namespace
}  // namespace ssivm

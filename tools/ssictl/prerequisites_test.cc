#include "tools/ssictl/prerequisites.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/command.h"

namespace ssivm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const char kVersion[] = "ssivm 0.1.0 protocol 1";

HostNeeds Needs(uint64_t memory_mib) {
  return {memory_mib, "ssivm", kVersion};
}

TEST(Probe, ParsesEveryKeyAndIgnoresNoise) {
  const HostProbe p = ParseProbe(
      "Welcome to node01!\nkvm=ok\r\nuserfaultfd=missing\nmem_available_kib=2097152\n"
      "ssivm=/usr/bin/ssivm\nssivm_version=ssivm 0.1.0 protocol 1\n");
  EXPECT_EQ(p.kvm, "ok");
  EXPECT_EQ(p.userfaultfd, "missing");
  EXPECT_EQ(p.mem_available_kib, 2097152u);
  EXPECT_EQ(p.ssivm, "/usr/bin/ssivm");
  EXPECT_EQ(p.ssivm_version, kVersion);
}

TEST(Probe, AHealthyHostHasNoProblems) {
  const HostProbe p = ParseProbe(
      "kvm=ok\nuserfaultfd=ok\nmem_available_kib=1048576\nssivm=/usr/bin/ssivm\n"
      "ssivm_version=ssivm 0.1.0 protocol 1\n");
  EXPECT_THAT(FindProblems(p, Needs(1024 - kMemoryMarginMib)), IsEmpty());
}

TEST(Probe, EveryProblemIsListed) {
  const HostProbe p = ParseProbe(
      "kvm=unopenable\nuserfaultfd=missing\nmem_available_kib=1048576\nssivm=/opt/ssivm\n"
      "ssivm_version=ssivm 0.2.0 protocol 2\n");
  const std::vector<std::string> problems = FindProblems(p, Needs(2048));
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_THAT(problems[0], HasSubstr("/dev/kvm cannot be opened"));
  EXPECT_THAT(problems[1], HasSubstr("/dev/userfaultfd is missing"));
  EXPECT_THAT(problems[2], HasSubstr("not enough free memory: 1024 MiB available"));
  EXPECT_THAT(problems[2], HasSubstr("need 2048 MiB + 128 MiB margin"));
  EXPECT_THAT(problems[3], HasSubstr("/opt/ssivm is 'ssivm 0.2.0 protocol 2'"));
  EXPECT_THAT(problems[3], HasSubstr(kVersion));
}

TEST(Probe, MissingBinaryAndMissingKvm) {
  const HostProbe p =
      ParseProbe("kvm=missing\nuserfaultfd=ok\nmem_available_kib=99999999\nssivm=\n");
  EXPECT_THAT(FindProblems(p, Needs(64)), ElementsAre(HasSubstr("/dev/kvm is missing"),
                                                      HasSubstr("ssivm binary 'ssivm' not found")));
}

TEST(Probe, AnEmptyAnswerIsNotTakenForHealthy) {
  const std::vector<std::string> problems = FindProblems(ParseProbe(""), Needs(64));
  EXPECT_EQ(problems.size(), 4u);
  EXPECT_THAT(problems[2], HasSubstr("free memory unknown"));
  EXPECT_THAT(FindProblems(ParseProbe("mem_available_kib=12x\n"), Needs(64))[2],
              HasSubstr("free memory unknown"));
}

TEST(Probe, TheScriptRunsHereAndReportsThisMachine) {
  // The real script under sh, against /bin/true as "ssivm": every key comes back.
  const CapturedRun r =
      RunCapture({"/bin/sh", "-c", ProbeScript("/bin/true")}, std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const HostProbe p = ParseProbe(r.out);
  EXPECT_THAT(p.kvm, ::testing::AnyOf("ok", "missing", "unopenable"));
  EXPECT_THAT(p.userfaultfd, ::testing::AnyOf("ok", "missing"));
  EXPECT_TRUE(p.mem_available_kib.has_value()) << r.out;
  EXPECT_EQ(p.ssivm, "/bin/true");
  const HostProbe absent = ParseProbe(
      RunCapture({"/bin/sh", "-c", ProbeScript("/nonexistent/ssi vm")}, std::chrono::seconds(30))
          .out);
  EXPECT_EQ(absent.ssivm, "");
}

}  // namespace
}  // namespace ssivm

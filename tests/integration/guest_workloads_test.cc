// Every built-in workload of the guest kernel, in test mode (ssi.run=...), on
// 1, 2 and 4 vCPUs (4 is more than this machine's host cores). Sizes are
// small: the results must not depend on speed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "tests/integration/guest_test_util.h"

namespace ssivm {
namespace {

using testing::Describe;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;

const char* const kWorkloads[] = {"counter", "litmus",   "memtest", "stream",
                                  "compute", "pingpong", "wakeup",  "ipi"};

// Small test-mode sizes for each workload.
const char kRunList[] =
    "ssi.run=counter:0x0:20000:2000,litmus:20:200,memtest:4,stream:65536:2,compute:64,"
    "pingpong:500,wakeup:50,ipi:200";

class GuestWorkloads : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GuestWorkloads, EveryWorkloadPasses) {
  const uint32_t vcpus = GetParam();
  // counter's first argument 0x0 is out of range: keep the default thread
  // count instead.
  std::string run = kRunList;
  run.replace(run.find(":0x0"), 4, ":" + std::to_string(2 * vcpus));
  const ProcessResult r = guest_test::BootGuest(vcpus, run);
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  for (const char* w : kWorkloads) {
    EXPECT_THAT(r.out, HasSubstr(std::string("RESULT ") + w + " PASS")) << Describe(r);
  }
  EXPECT_THAT(r.out, Not(HasSubstr(" FAIL "))) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ssivm: 8 of 8 workloads passed")) << Describe(r);
  // The counter ran 2 threads per CPU and its totals are exact.
  const uint64_t threads = uint64_t{2} * vcpus;
  EXPECT_THAT(r.out, HasSubstr("atomic=" + std::to_string(threads * 20000) + "/" +
                               std::to_string(threads * 20000) +
                               " locked=" + std::to_string(threads * 2000) + "/" +
                               std::to_string(threads * 2000)))
      << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("cpus=" + std::to_string(vcpus))) << Describe(r);
  // Every thread of every wakeup round ran once: thread i adds i + 1.
  const uint64_t sum = 50 * uint64_t{vcpus} * (vcpus + 1) / 2;
  EXPECT_THAT(r.out, HasSubstr("sum=" + std::to_string(sum) + "/" + std::to_string(sum)))
      << Describe(r);
  // Every IPI was taken: 200 rounds to each other CPU (to itself on one).
  EXPECT_THAT(r.out, HasSubstr("ipis=" + std::to_string(200 * std::max(1u, vcpus - 1))))
      << Describe(r);
}

INSTANTIATE_TEST_SUITE_P(Vcpus, GuestWorkloads, ::testing::Values(1u, 2u, 4u),
                         [](const auto& info) { return std::to_string(info.param) + "vcpus"; });

TEST(GuestTestMode, FailingWorkloadMakesStatusOne) {
  // Zero threads is a bad argument: the workload reports FAIL.
  const ProcessResult r = guest_test::BootGuest(2, "ssi.run=compute:64,counter:0");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("RESULT compute PASS")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("RESULT counter FAIL")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("counter: bad argument '0'")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ssivm: 1 of 2 workloads passed")) << Describe(r);
}

TEST(GuestTestMode, UnknownWorkloadIsRejectedAtBoot) {
  const ProcessResult r = guest_test::BootGuest(1, "ssi.run=counter,nosuch");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("unknown workload in option ssi.run=counter,nosuch")) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("RESULT"))) << Describe(r);
}

}  // namespace
}  // namespace ssivm

// Boots the ssivm guest kernel in real KVM through the ssivm binary and
// asserts on what the guest printed and how the VMM exited.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace ssivm {
namespace {

using testing::Describe;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;
using testing::RunProcess;

const char kSsivm[] = "hypervisor/ssivm";
const char kKernel[] = "guest/kernel";

ProcessResult Boot(uint32_t vcpus, const std::string& cmdline = "", uint32_t memory_mib = 128,
                   const std::string& input = "") {
  std::vector<std::string> argv = {kSsivm,
                                   "--kernel",
                                   kKernel,
                                   "--vcpus",
                                   std::to_string(vcpus),
                                   "--memory",
                                   std::to_string(memory_mib),
                                   "--console",
                                   "stdio"};
  if (!cmdline.empty()) argv.insert(argv.end(), {"--cmdline", cmdline});
  return RunProcess(argv, input);
}

void ExpectBooted(const ProcessResult& r, uint32_t vcpus) {
  EXPECT_THAT(r.out, HasSubstr("ssivm guest kernel booting: " + std::to_string(vcpus) + " vCPUs"))
      << Describe(r);
  for (uint32_t v = 0; v < vcpus; ++v) {
    EXPECT_THAT(r.out, HasSubstr("cpu " + std::to_string(v) + ": online (apic id " +
                                 std::to_string(v) + ")"))
        << Describe(r);
    // The VMM logged this vCPU's first instruction through the progress port.
    EXPECT_THAT(r.err, HasSubstr("vcpu " + std::to_string(v) + " entry")) << Describe(r);
  }
  EXPECT_THAT(r.out, HasSubstr("all " + std::to_string(vcpus) + " cpus online")) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("vcpu 0 ready")) << Describe(r);
}

TEST(Boot, OneVcpu) {
  const ProcessResult r = Boot(1);
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  ExpectBooted(r, 1);
  EXPECT_THAT(r.out, HasSubstr("ssivm: powering off (status 0)"));
}

TEST(Boot, TwoVcpus) {
  const ProcessResult r = Boot(2);
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  ExpectBooted(r, 2);
  // One node keeps HLT exits (no DSM): the idle port is not offered.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("halt by (hlt|hypercall)\n")) << Describe(r);
}

TEST(Boot, MoreVcpusThanHostCores) {
  const ProcessResult r = Boot(4);
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  ExpectBooted(r, 4);
}

TEST(Boot, LargeGuestWithRamAboveFourGiB) {
  // 4.5 GiB: RAM is split around the 3-4 GiB MMIO hole; untouched RAM costs nothing.
  const ProcessResult r = Boot(2, "", 4608);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("4608 MiB RAM")) << Describe(r);
}

TEST(Boot, GuestExitStatusBecomesProcessStatus) {
  const ProcessResult r = Boot(2, "ssi.exit=7");
  EXPECT_EQ(r.exit_code, 7) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("powering off (status 7)"));
}

TEST(Boot, ConsoleInputReachesTheGuest) {
  // Typed before the guest's UART driver is even initialised: nothing is lost.
  const ProcessResult r = Boot(2, "ssi.echo=1", 128, "hello from the host\n");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("echo: hello from the host\n")) << Describe(r);
}

TEST(Boot, UnknownGuestOptionFailsTheGuest) {
  const ProcessResult r = Boot(1, "ssi.bogus=1");
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("unknown option ssi.bogus"));
}

TEST(Boot, GuestTripleFaultIsReportedWithRegisters) {
  const ProcessResult r = Boot(2, "ssi.fault=ud");
  EXPECT_EQ(r.exit_code, 124) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("guest triple fault")) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("rip=0x")) << Describe(r);
}

}  // namespace
}  // namespace ssivm

// A CPU exception in the guest kernel produces a panic report (vector, error
// code, RIP, CR2, registers, CPU) and powers off with the panic status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/guest_test_util.h"

namespace ssivm {
namespace {

using ::testing::ContainsRegex;
using testing::Describe;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;

constexpr int kPanicStatus = 3;  // abi::kExitPanic

void ExpectReport(const ProcessResult& r) {
  EXPECT_THAT(r.out, ContainsRegex("rip 0x1[0-9a-f]{6}")) << Describe(r);  // kernel text
  EXPECT_THAT(r.out, ContainsRegex("rax [0-9a-f]{16} rbx [0-9a-f]{16}")) << Describe(r);
  EXPECT_THAT(r.out, ContainsRegex("r13 [0-9a-f]{16} r14 [0-9a-f]{16} r15 [0-9a-f]{16}"))
      << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("thread main/")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ssivm: powering off (status 3)")) << Describe(r);
  EXPECT_THAT(r.err, Not(HasSubstr("triple fault"))) << Describe(r);
}

TEST(GuestPanic, PageFaultFromCommandLine) {
  const ProcessResult r = guest_test::BootGuest(2, "ssi.panic=pf");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, kPanicStatus) << Describe(r);
  EXPECT_THAT(r.out, ContainsRegex("ssivm: panic: cpu [01]: exception 14 \\(#PF page fault\\), "
                                   "error code 0x2, rip 0x[0-9a-f]+, cr2 0x7fff00000000"))
      << Describe(r);
  ExpectReport(r);
}

TEST(GuestPanic, DivideErrorFromCommandLine) {
  const ProcessResult r = guest_test::BootGuest(1, "ssi.panic=de");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, kPanicStatus) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ssivm: panic: cpu 0: exception 0 (#DE divide error), error code 0"))
      << Describe(r);
  ExpectReport(r);
}

TEST(GuestPanic, InvalidOpcodeFromTheShell) {
  const ProcessResult r = guest_test::BootGuest(2, "ssi.shell=1", "root\nfault ud\npoweroff\n");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, kPanicStatus) << Describe(r);
  EXPECT_THAT(r.out, ContainsRegex("exception 6 \\(#UD invalid opcode\\)")) << Describe(r);
  ExpectReport(r);
}

TEST(GuestPanic, GeneralProtectionFromTheShell) {
  const ProcessResult r = guest_test::BootGuest(2, "ssi.shell=1", "root\nfault gp\n");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, kPanicStatus) << Describe(r);
  EXPECT_THAT(r.out, ContainsRegex("exception 13 \\(#GP general protection\\)")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("rax 8000000000000000")) << Describe(r);  // the bad address
  ExpectReport(r);
}

TEST(GuestPanic, BadPanicKindIsRejected) {
  const ProcessResult r = guest_test::BootGuest(1, "ssi.panic=xx");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("bad value in option ssi.panic=xx")) << Describe(r);
}

}  // namespace
}  // namespace ssivm

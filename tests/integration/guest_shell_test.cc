// Drives the guest kernel's console shell: the whole session is fed at once
// (the VMM's UART queues console input and never drops it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/guest_test_util.h"

namespace ssivm {
namespace {

using testing::Describe;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;

TEST(GuestShell, LoginCommandsAndPoweroff) {
  const std::string session =
      "alice\r\n"
      "wrong\r\n"  // bad password first
      "alice\r\n"
      "s3cret\r\n"
      "help\r\n"
      "cpus\r\n"
      "mem\r\n"
      "uptime\r\n"
      "run counter 4 1000 200\r\n"
      "run nosuch\r\n"
      "run counter many\r\n"
      "frobnicate now\r\n"
      "cpuz\x7f\x7fus\r\n"  // line editing: "cpuz" -> "cp" -> "cpus"
      "poweroff\r\n"
      "help\r\n";  // never read
  const ProcessResult r = guest_test::BootGuest(3, "ssi.shell=1 ssi.password=s3cret", session);
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ssivm login: ")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Login incorrect")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Welcome to ssivm, alice.")) << Describe(r);
  // The password is never echoed.
  EXPECT_THAT(r.out, Not(HasSubstr("s3cret"))) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("run <workload> [args]")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("cpu  node  apic  state  load")) << Describe(r);
  for (int cpu = 0; cpu < 3; ++cpu) {
    EXPECT_THAT(r.out, ::testing::ContainsRegex("\n +" + std::to_string(cpu) + " +0 +" +
                                                std::to_string(cpu) + " +(idle|busy) +[0-9]+%"))
        << Describe(r);
  }
  EXPECT_THAT(r.out, ::testing::ContainsRegex("memory: [0-9]+ KiB total, [0-9]+ KiB free"))
      << Describe(r);
  EXPECT_THAT(r.out, ::testing::ContainsRegex("node 0: [0-9]+ KiB total")) << Describe(r);
  EXPECT_THAT(r.out, ::testing::ContainsRegex("up [0-9]+\\.[0-9]{3} s, 3 cpus")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("RESULT counter PASS threads=4 cpus=3 atomic=4000/4000 "
                               "locked=800/800"))
      << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("run: no workload named 'nosuch'")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("counter: bad argument 'many'")) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("frobnicate: unknown command")) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("cpuzus"))) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("ssivm: powering off (status 0)")) << Describe(r);
}

TEST(GuestShell, OpenLoginByDefault) {
  const ProcessResult r = guest_test::BootGuest(1, "ssi.shell=1", "bob\nuptime\npoweroff\n");
  ASSERT_FALSE(r.timed_out) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("Welcome to ssivm, bob.")) << Describe(r);
  EXPECT_THAT(r.out, Not(HasSubstr("Password:"))) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("1 cpus")) << Describe(r);
}

}  // namespace
}  // namespace ssivm

#include "common/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

namespace ssivm {
namespace {

using std::chrono::seconds;

TEST(Command, ShellQuoteRoundTripsThroughSh) {
  for (const std::string word : {"plain", "a b", "it's", "", "$HOME", "`x`", "a\nb", "'\"\\"}) {
    const CapturedRun r =
        RunCapture({"/bin/sh", "-c", "printf %s " + ShellQuote(word)}, seconds(30));
    EXPECT_EQ(r.out, word);
  }
  EXPECT_EQ(ShellQuote("/var/lib/ssivm-1_2:3"), "/var/lib/ssivm-1_2:3");
  EXPECT_EQ(CommandLine({"ssivm", "--cmdline", "ssi.run=a b"}), "ssivm --cmdline 'ssi.run=a b'");
}

TEST(Command, RunCaptureKeepsOutputsApartAndTheStatus) {
  const CapturedRun r =
      RunCapture({"/bin/sh", "-c", "echo out; echo err >&2; exit 4"}, seconds(30));
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_FALSE(r.timed_out);
}

TEST(Command, RunCaptureKillsWhatOutlivesItsTime) {
  const CapturedRun r = RunCapture({"/bin/sleep", "600"}, std::chrono::milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + 9);
}

TEST(Command, WaitExitStatusForGivesUpAndLaterCollects) {
  const int pid = Spawn({"/bin/sh", "-c", "read x; exit 6"}, {kDevNull});
  // stdin is /dev/null: read fails at once and the shell exits 6.
  EXPECT_EQ(WaitExitStatusFor(pid, seconds(30)), 6);
  const int sleeper = Spawn({"/bin/sleep", "600"}, {kDevNull, kInherit, kInherit, true});
  EXPECT_EQ(WaitExitStatusFor(sleeper, std::chrono::milliseconds(100)), std::nullopt);
  ::kill(sleeper, SIGTERM);
  EXPECT_EQ(WaitExitStatusFor(sleeper, seconds(30)), 128 + SIGTERM);
}

}  // namespace
}  // namespace ssivm

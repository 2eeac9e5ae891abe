#include "common/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <optional>
#include <string>
#include <thread>

#include "common/error.h"

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

// The parent-death signal comes when the thread that spawned the child ends
// (so ssictl spawns its nodes from the thread that waits for them).
TEST(Command, ADieWithParentChildEndsWithItsParent) {
  SpawnStdio stdio{kDevNull};
  stdio.die_with_parent = true;
  int pid = -1;
  std::thread([&] { pid = Spawn({"sleep", "600"}, stdio); }).join();
  const std::optional<int> status = WaitExitStatusFor(pid, seconds(60));
  if (!status) {
    ::kill(pid, SIGKILL);
    WaitExitStatus(pid);
  }
  EXPECT_EQ(status, 128 + SIGTERM);
}

// A signal its parent ignores (ssictl ignores SIGINT) is not ignored by the
// child: Ctrl-C and SIGHUP reach the node process, which decides.
TEST(Command, ADieWithParentChildStartsWithDefaultSignalActions) {
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old);
  SpawnStdio stdio{kDevNull};
  stdio.die_with_parent = true;
  const int pid = Spawn({"/bin/sh", "-c", "kill -INT $$; exit 3"}, stdio);
  ::sigaction(SIGINT, &old, nullptr);
  EXPECT_EQ(WaitExitStatus(pid), 128 + SIGINT);
}

TEST(Command, ADieWithParentSpawnNamesWhatCannotRun) {
  SpawnStdio stdio;
  stdio.die_with_parent = true;
  for (const std::string program : {"/nonexistent/program", "ssivm-no-such-program"}) {
    try {
      Spawn({program}, stdio);
      ADD_FAILURE() << program << " was started";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot run " + program + ": No such file"));
    }
  }
}

}  // namespace
}  // namespace ssivm

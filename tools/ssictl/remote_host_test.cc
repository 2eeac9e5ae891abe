#include "tools/ssictl/remote_host.h"

#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Ssh, ArgvPutsTheUsersOptionsFirstAndQuotesNothingItself) {
  SshOptions o;
  o.user = "admin";
  o.identity = "/k/id";
  o.options = {"StrictHostKeyChecking=no", "ConnectTimeout=3"};
  o.connect_timeout_s = 7;
  EXPECT_THAT(SshArgv(o, "node01", "echo 'a b'", false),
              ElementsAre("ssh", "-o", "StrictHostKeyChecking=no", "-o", "ConnectTimeout=3", "-i",
                          "/k/id", "-l", "admin", "-o", "BatchMode=yes", "-o", "ConnectTimeout=7",
                          "-T", "--", "node01", "echo 'a b'"));
  EXPECT_THAT(SshArgv(SshOptions{}, "[::2]", "x", true),
              ElementsAre("ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-t", "--",
                          "[::2]", "x"));
}

TEST(Ssh, TheEnvironmentReplacesTheCommand) {
  ::setenv("SSIVM_SSH", "  ssh -F /tmp/cfg   -p 2222 ", 1);
  EXPECT_THAT(WithSshFromEnv({}).command, ElementsAre("ssh", "-F", "/tmp/cfg", "-p", "2222"));
  ::setenv("SSIVM_SSH", "", 1);
  EXPECT_THAT(WithSshFromEnv({}).command, ElementsAre("ssh"));
  ::unsetenv("SSIVM_SSH");
}

TEST(Ssh, LocalHostsRunWithoutSsh) {
  for (const char* h : {"localhost", "127.0.0.1", "127.3.0.1", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLocalHost(h)) << h;
  }
  for (const char* h : {"node01", "10.0.0.1", "localhost.example", "::2"}) {
    EXPECT_FALSE(IsLocalHost(h)) << h;
  }
  const RemoteHost local("localhost", {});
  EXPECT_THAT(local.Argv("exit 3"), ElementsAre("/bin/sh", "-c", "exit 3"));
  EXPECT_EQ(local.Run("echo out; echo err >&2; exit 3", std::chrono::seconds(30)).exit_code, 3);
}

TEST(Ssh, FailuresNameHostCommandStatusAndWords) {
  const RemoteHost remote("node07", {});
  CapturedRun r;
  r.exit_code = kSshFailed;
  r.err = "ssh: connect to host node07 port 22: Connection refused\r\n";
  EXPECT_EQ(remote.Failure(r, "checking"),
            "host node07: unreachable (ssh): ssh: connect to host node07 port 22: Connection "
            "refused");
  r.exit_code = 127;
  r.err = "line 1\nsh: 1: /opt/ssivm: not found\n";
  EXPECT_EQ(remote.Failure(r, "asking node 2 (status)"),
            "host node07: asking node 2 (status): exit status 127: line 1 | sh: 1: /opt/ssivm: "
            "not found");
  EXPECT_EQ(remote.Failure(r, "asking", "/opt/ssivm --query status"),
            "host node07: asking: exit status 127: line 1 | sh: 1: /opt/ssivm: not found [ran: "
            "/opt/ssivm --query status]");
  r.timed_out = true;
  EXPECT_EQ(remote.Failure(r, "x", "sleep 9"), "host node07: x: timed out [ran: sleep 9]");
}

TEST(Ssh, PushCopiesThroughTheHostsShell) {
  // A local host exercises the same command line the remote one gets.
  const std::string dir = ::testing::TempDir() + "/push dir";
  const std::string src = ::testing::TempDir() + "/src.bin";
  ASSERT_EQ(RunCapture({"/bin/sh", "-c", "printf 'abc\\000def' > '" + src + "'"},
                       std::chrono::seconds(30))
                .exit_code,
            0);
  const RemoteHost local("localhost", {});
  local.Push(src, dir + "/sub/it's.bin");
  const CapturedRun r = RunCapture({"cmp", src, dir + "/sub/it's.bin"}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THROW(local.Push(src + ".missing", dir + "/x"), Error);
}

}  // namespace
}  // namespace ssivm

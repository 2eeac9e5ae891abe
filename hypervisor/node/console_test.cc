// The stdio console with a reader that stopped reading (a terminal paused
// with Ctrl-S, a pipe nobody reads): the vCPU or forwarded-I/O worker that
// writes the guest's output must not wait for it.
#include "hypervisor/node/console.h"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <vector>

#include <gtest/gtest.h>

#include "common/unique_fd.h"

namespace ssivm {
namespace {

TEST(StdioConsole, OutputNeverWaitsForAReaderThatStopped) {
  std::signal(SIGPIPE, SIG_IGN);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd read_end(p[0]), write_end(p[1]);
  ASSERT_GT(::fcntl(write_end.get(), F_SETPIPE_SZ, 4096), 0);
  std::fflush(stdout);
  const UniqueFd saved_stdout(::dup(STDOUT_FILENO));
  ASSERT_EQ(::dup2(write_end.get(), STDOUT_FILENO), STDOUT_FILENO);  // nobody reads it
  std::unique_ptr<Console> console = MakeConsole(ParseConsoleSpec("stdio"));
  const std::vector<uint8_t> line(1024, 'x');
  auto writer = std::async(std::launch::async, [&] {
    for (int i = 0; i < 4096; ++i) console->Output(line);  // 4 MiB
  });
  const bool returned = writer.wait_for(std::chrono::seconds(120)) == std::future_status::ready;
  if (!returned) read_end.Reset();  // unblocks the writer (EPIPE), so the test can end
  writer.wait();
  console->Stop();
  ::dup2(saved_stdout.get(), STDOUT_FILENO);
  EXPECT_TRUE(returned) << "Output waited for a reader that takes nothing";
  EXPECT_GT(console->dropped_bytes(), 0u);
  EXPECT_FALSE(console->on_terminal());
}

}  // namespace
}  // namespace ssivm

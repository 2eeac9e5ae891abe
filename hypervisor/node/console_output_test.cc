#include "hypervisor/node/console_output.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace ssivm {
namespace {

using std::chrono::seconds;

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + i / 251);
  return v;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// A pipe: [0] read end, [1] write end.
struct Pipe {
  UniqueFd read_end, write_end;
  Pipe() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    read_end.Reset(p[0]);
    write_end.Reset(p[1]);
  }
};

TEST(ConsoleOutput, AReaderGetsEverythingInOrder) {
  Pipe pipe;
  ConsoleOutput out;
  out.SetTarget(NonBlockingWriterFor(pipe.write_end.get()));
  pipe.write_end.Reset();  // the target holds its own descriptor
  std::string got;
  std::thread reader([&] { got = ReadAll(pipe.read_end.get()); });
  const std::vector<uint8_t> bytes = Pattern(ConsoleOutput::kDefaultCapacity - 1);
  for (size_t i = 0; i < bytes.size(); i += 1000) {
    out.Write(std::span(bytes).subspan(i, std::min<size_t>(1000, bytes.size() - i)));
  }
  out.Close(seconds(120));  // the reader takes everything before then
  out.SetTarget({});        // closes the writer's descriptor: the reader sees the end
  reader.join();
  EXPECT_EQ(got, std::string(bytes.begin(), bytes.end()));
  EXPECT_EQ(out.dropped(), 0u);
}

// A reader that takes nothing (a paused terminal): writing never waits, and
// every byte the reader did not get is counted as dropped.
TEST(ConsoleOutput, NeverWaitsForAReaderThatStopped) {
  Pipe pipe;
  const int pipe_size = ::fcntl(pipe.write_end.get(), F_SETPIPE_SZ, 4096);
  ASSERT_GT(pipe_size, 0);
  ConsoleOutput out(size_t{64} * 1024);
  out.SetTarget(NonBlockingWriterFor(pipe.write_end.get()));
  const std::vector<uint8_t> bytes = Pattern(4 << 20);
  for (size_t i = 0; i < bytes.size(); i += 4096) out.Write(std::span(bytes).subspan(i, 4096));
  out.Close();
  pipe.write_end.Reset();
  const std::string got = ReadAll(pipe.read_end.get());
  EXPECT_LE(got.size(), static_cast<size_t>(pipe_size));
  EXPECT_EQ(out.dropped() + got.size(), bytes.size());
}

// When the buffer is full the oldest bytes go: a reader that resumes sees the
// newest output.
TEST(ConsoleOutput, KeepsTheNewestBytesWhenFull) {
  int s[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  UniqueFd here(s[0]), there(s[1]);
  ConsoleOutput out(16);
  // While the target is being replaced nothing is written: the first bytes
  // and what follows wait in the buffer together.
  const std::string text = "0123456789abcdefghijklmnopqrstuvwxyz";
  out.SetTarget(NonBlockingWriterFor(here.get()),
                std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  here.Reset();
  out.Close(seconds(120));
  out.SetTarget({});
  EXPECT_EQ(ReadAll(there.get()), text.substr(text.size() - 16));
  EXPECT_EQ(out.dropped(), text.size() - 16);
}

TEST(ConsoleOutput, ANewTargetGetsItsFirstBytesThenWhatFollows) {
  int s[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  UniqueFd here(s[0]), there(s[1]);
  ConsoleOutput out;
  out.Write(std::vector<uint8_t>{'x'});  // no target yet: not kept, not counted
  const std::string first = "replayed;";
  out.SetTarget(NonBlockingWriterFor(here.get()),
                std::span(reinterpret_cast<const uint8_t*>(first.data()), first.size()));
  here.Reset();
  const std::string next = "new";
  out.Write({reinterpret_cast<const uint8_t*>(next.data()), next.size()});
  out.Close(seconds(120));
  out.SetTarget({});
  EXPECT_EQ(ReadAll(there.get()), "replayed;new");
  EXPECT_EQ(out.dropped(), 0u);
}

TEST(ConsoleOutput, AReaderThatLeftCountsAsDropped) {
  Pipe pipe;
  ConsoleOutput out;
  out.SetTarget(NonBlockingWriterFor(pipe.write_end.get()));
  pipe.read_end.Reset();
  const std::vector<uint8_t> bytes = Pattern(1000);
  out.Write(bytes);
  out.Close(seconds(120));
  EXPECT_EQ(out.dropped(), bytes.size());
}

}  // namespace
}  // namespace ssivm

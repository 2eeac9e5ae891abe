// Guest console output on its way to a reader that may stop reading: a
// terminal paused with Ctrl-S or by a stopped job, a pipe or a socket client
// nobody reads. Whoever produces the output (a vCPU writing the UART, the
// device node's worker running a peer's forwarded port I/O) must never wait
// for that reader: the guest and the DSM traffic through the node would stall
// with it. So output is written through a non-blocking descriptor: at once
// by the caller while the reader keeps up (in order with this process's
// other output to the same terminal), otherwise into a bounded buffer that a
// thread of its own writes out; when the buffer is full, the oldest output
// is dropped and counted.
#ifndef SSIVM_HYPERVISOR_NODE_CONSOLE_OUTPUT_H_
#define SSIVM_HYPERVISOR_NODE_CONSOLE_OUTPUT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace ssivm {

// Where the output goes: a descriptor that never blocks a write for long.
struct OutputTarget {
  UniqueFd fd;          // invalid: no reader (output is not kept, not counted)
  bool socket = false;  // written with send(MSG_DONTWAIT); else fd is non-blocking or a file
};

// A non-blocking writer to `fd` (e.g. stdout), which stays as it is: a
// terminal or pipe is opened again (/proc/self/fd) with O_NONBLOCK, since
// setting it on `fd` would change it for every process sharing it; a socket
// is sent to with MSG_DONTWAIT; a file is written as it is. Throws Error if
// none of these works.
OutputTarget NonBlockingWriterFor(int fd);

class ConsoleOutput {
 public:
  // Bursts the reader takes a moment for (a slow ssh link) fit; a reader
  // that stopped costs at most this much memory.
  static constexpr size_t kDefaultCapacity = size_t{64} * 1024;

  explicit ConsoleOutput(size_t capacity = kDefaultCapacity);
  ~ConsoleOutput();  // Close() with no grace
  ConsoleOutput(const ConsoleOutput&) = delete;
  ConsoleOutput& operator=(const ConsoleOutput&) = delete;

  // From now on output goes to `target`, starting with `first` (e.g. a
  // replay for a client that just attached); what was buffered for the
  // previous target is discarded.
  void SetTarget(OutputTarget target, std::span<const uint8_t> first = {});

  // Buffers `bytes` for the target; never waits. When the buffer is full
  // its oldest bytes are dropped (a reader that resumes sees the newest);
  // dropped bytes, and those a failed target can no longer take, are counted.
  void Write(std::span<const uint8_t> bytes);

  // Bytes dropped so far.
  uint64_t dropped() const;

  // Writes what is buffered for at most `grace` (the guest's last words),
  // then ends the thread; what is left is dropped. Idempotent.
  void Close(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

 private:
  using Clock = std::chrono::steady_clock;

  void Run();
  void Wake();

  const size_t capacity_;
  UniqueFd wake_;  // eventfd: new data when idle, a new target, Close

  mutable std::mutex mu_;
  std::deque<uint8_t> queue_;
  std::optional<OutputTarget> next_target_;  // handed to the thread, which owns targets
  OutputTarget target_;     // changed by the thread only, under mu_; Write uses it under mu_
  bool in_flight_ = false;  // the thread holds bytes taken from the queue, not yet written
  bool has_target_ = false;
  bool broken_ = false;  // the target failed: output is dropped until a new one
  bool idle_ = false;    // the thread waits for data: Write wakes it
  bool closing_ = false;
  Clock::time_point close_deadline_;
  uint64_t dropped_ = 0;

  std::thread thread_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CONSOLE_OUTPUT_H_

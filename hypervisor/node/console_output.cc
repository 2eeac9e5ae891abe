#include "hypervisor/node/console_output.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

constexpr size_t kChunk = size_t{64} * 1024;  // written at a time

UniqueFd Duplicate(int fd) {
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!copy.valid()) ThrowErrno(fmt::format("console output: duplicating descriptor {}", fd));
  return copy;
}

// One write that does not wait: how much the reader took, or -1 (errno).
ssize_t WriteNow(const OutputTarget& target, std::span<const uint8_t> bytes) {
  return target.socket
             ? ::send(target.fd.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
             : ::write(target.fd.get(), bytes.data(), bytes.size());
}

bool WouldBlock(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

}  // namespace

OutputTarget NonBlockingWriterFor(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) ThrowErrno(fmt::format("console output: descriptor {}", fd));
  if (S_ISSOCK(st.st_mode)) return {Duplicate(fd), true};
  if (S_ISREG(st.st_mode)) return {Duplicate(fd), false};  // takes writes without a reader
  UniqueFd reopened(::open(fmt::format("/proc/self/fd/{}", fd).c_str(),
                           O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (reopened.valid()) return {std::move(reopened), false};
  // No /proc, or a pipe without a reader (whose writes fail at once): the
  // descriptor as it is.
  return {Duplicate(fd), false};
}

ConsoleOutput::ConsoleOutput(size_t capacity)
    : capacity_(capacity), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_.valid()) ThrowErrno("eventfd for the console output");
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "console-out");
}

ConsoleOutput::~ConsoleOutput() {
  Close();
}

void ConsoleOutput::Wake() {
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
}

void ConsoleOutput::SetTarget(OutputTarget target, std::span<const uint8_t> first) {
  {
    const std::lock_guard lock(mu_);
    has_target_ = target.fd.valid();
    broken_ = false;
    queue_.clear();
    if (has_target_) {
      const std::span<const uint8_t> kept = first.last(std::min(first.size(), capacity_));
      queue_.insert(queue_.end(), kept.begin(), kept.end());
      dropped_ += first.size() - kept.size();
    }
    next_target_ = std::move(target);
    idle_ = false;
  }
  Wake();
}

void ConsoleOutput::Write(std::span<const uint8_t> bytes) {
  bool wake = false;
  {
    const std::lock_guard lock(mu_);
    if (!has_target_) return;  // no reader: nothing is lost that was wanted
    if (broken_ || closing_) {
      dropped_ += bytes.size();
      return;
    }
    // Nothing waiting: written at once, by the caller, as far as the reader
    // takes it without waiting. Output then keeps its order with what else
    // this process writes to the same terminal (its log lines).
    if (queue_.empty() && !in_flight_ && !next_target_ && target_.fd.valid()) {
      const ssize_t n = WriteNow(target_, bytes);
      if (n < 0 && !WouldBlock(errno)) {
        dropped_ += bytes.size();
        broken_ = true;  // the thread closes the target
        return;
      }
      bytes = bytes.subspan(n > 0 ? static_cast<size_t>(n) : 0);
    }
    // Full: the oldest bytes go, as in a scrollback (a reader that resumes
    // sees what is newest).
    const std::span<const uint8_t> kept = bytes.last(std::min(bytes.size(), capacity_));
    const size_t total = queue_.size() + kept.size();
    const size_t over = total > capacity_ ? total - capacity_ : 0;  // at most queue_.size()
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(over));
    queue_.insert(queue_.end(), kept.begin(), kept.end());
    dropped_ += over + (bytes.size() - kept.size());
    wake = idle_ && !kept.empty();
    if (wake) idle_ = false;
  }
  if (wake) Wake();
}

uint64_t ConsoleOutput::dropped() const {
  const std::lock_guard lock(mu_);
  return dropped_;
}

void ConsoleOutput::Close(std::chrono::milliseconds grace) {
  {
    const std::lock_guard lock(mu_);
    if (!closing_) {
      closing_ = true;
      close_deadline_ = Clock::now() + grace;
    }
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

void ConsoleOutput::Run() {
  // A reader that went away makes a write fail with EPIPE, not end the process.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  std::vector<uint8_t> chunk;  // taken from the queue, not yet written
  for (;;) {
    int timeout_ms = -1;
    bool wait_for_data = false;
    {
      const std::lock_guard lock(mu_);
      if (next_target_) {
        target_ = std::move(*next_target_);  // closes the previous one
        next_target_.reset();
        chunk.clear();
      }
      if (broken_) {
        target_ = {};
        chunk.clear();
      }
      if (chunk.empty()) {
        const auto n = static_cast<ptrdiff_t>(std::min(queue_.size(), kChunk));
        chunk.assign(queue_.begin(), queue_.begin() + n);
        queue_.erase(queue_.begin(), queue_.begin() + n);
      }
      in_flight_ = !chunk.empty();
      if (closing_) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(close_deadline_ - Clock::now());
        if (chunk.empty() || !target_.fd.valid() || left.count() <= 0) {
          dropped_ += chunk.size() + queue_.size();
          queue_.clear();
          in_flight_ = false;
          target_ = {};  // the reader sees the end now, not when this object goes
          return;
        }
        timeout_ms = static_cast<int>(left.count());
      }
      wait_for_data = chunk.empty() || !target_.fd.valid();
      idle_ = wait_for_data;
    }
    // Only this thread changes target_, so it may use it unlocked.
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {wait_for_data ? -1 : target_.fd.get(), POLLOUT, 0}};
    if (::poll(fds, 2, timeout_ms) < 0) continue;  // EINTR
    if (fds[0].revents != 0) {
      uint64_t count = 0;
      (void)!::read(wake_.get(), &count, sizeof(count));
    }
    if (wait_for_data || fds[1].revents == 0) continue;
    const ssize_t n = WriteNow(target_, chunk);
    if (n > 0) {
      chunk.erase(chunk.begin(), chunk.begin() + n);
    } else if (n < 0 && !WouldBlock(errno)) {
      // The reader is gone (or the descriptor failed): drop until a new target.
      const std::lock_guard lock(mu_);
      dropped_ += chunk.size() + queue_.size();
      chunk.clear();
      queue_.clear();
      broken_ = true;
    }
  }
}

}  // namespace ssivm

#include "hypervisor/emulated/fd_buffer.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <cerrno>

#include <chrono>

#include "common/error.h"

namespace ssivm::emulated {

void OutBuffer::Append(std::span<const uint8_t> bytes) {
  if (empty()) {
    data_.clear();
    pos_ = 0;
  }
  data_.insert(data_.end(), bytes.begin(), bytes.end());
}

bool OutBuffer::Flush(int fd) {
  while (!empty()) {
    const ssize_t n = ::write(fd, data_.data() + pos_, data_.size() - pos_);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    pos_ += static_cast<size_t>(n);
  }
  data_.clear();
  pos_ = 0;
  return true;
}

long ReadSome(int fd, std::vector<uint8_t>& buf, size_t max) {
  buf.resize(max);
  const ssize_t n = ::read(fd, buf.data(), max);
  if (n < 0) {
    buf.clear();
    if (errno == EAGAIN || errno == EINTR) return -1;
    return 0;  // EIO (a terminal's other side closed) and the like: the end
  }
  buf.resize(static_cast<size_t>(n));
  return static_cast<long>(n);
}

void SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) ThrowErrno("fcntl O_NONBLOCK");
}

bool WriteAllBlocking(int fd, std::span<const uint8_t> bytes, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n >= 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return true;
}

}  // namespace ssivm::emulated

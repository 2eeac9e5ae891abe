// Non-blocking byte plumbing for the supervisor's and the agent's poll
// loops: a queue of bytes waiting for a file descriptor to take them.
#ifndef SSIVM_HYPERVISOR_EMULATED_FD_BUFFER_H_
#define SSIVM_HYPERVISOR_EMULATED_FD_BUFFER_H_

#include <cstdint>
#include <span>
#include <vector>

namespace ssivm::emulated {

class OutBuffer {
 public:
  void Append(std::span<const uint8_t> bytes);
  // Writes what `fd` takes now; false on an error other than EAGAIN (the
  // reader is gone).
  bool Flush(int fd);
  bool empty() const { return pos_ == data_.size(); }
  size_t size() const { return data_.size() - pos_; }

 private:
  std::vector<uint8_t> data_;
  size_t pos_ = 0;
};

// One read into `buf` (resized to what arrived). Returns the byte count, 0
// at end of file (EIO from a terminal whose other side closed counts as
// end), -1 if nothing is there now (EAGAIN/EINTR); throws nothing.
long ReadSome(int fd, std::vector<uint8_t>& buf, size_t max = 64 * 1024);

void SetNonBlocking(int fd);

// Writes everything, waiting (poll) while the descriptor is full; false if
// it fails or `timeout_ms` passes.
bool WriteAllBlocking(int fd, std::span<const uint8_t> bytes, int timeout_ms);

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_FD_BUFFER_H_

// RAII userfaultfd over one host range, registered for MISSING and
// write-protect faults, with the page operations the DSM needs.
#ifndef SSIVM_DSM_FAULT_USERFAULTFD_H_
#define SSIVM_DSM_FAULT_USERFAULTFD_H_

#include <linux/userfaultfd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/unique_fd.h"

namespace ssivm::dsm {

struct PageFault {
  uint64_t address;  // host address (page aligned)
  bool write;        // a write access (missing page or write-protected)
  uint32_t tid = 0;  // the faulting thread (0: the kernel does not say)
};

class Userfaultfd {
 public:
  // Opens /dev/userfaultfd (the userfaultfd syscall is refused in Bazel's
  // sandbox), negotiates the API and registers [base, base + size).
  Userfaultfd(void* base, size_t size);
  ~Userfaultfd();
  Userfaultfd(const Userfaultfd&) = delete;
  Userfaultfd& operator=(const Userfaultfd&) = delete;

  int fd() const { return fd_.get(); }
  // Whether faults name their thread (UFFD_FEATURE_THREAD_ID, Linux 4.14).
  bool thread_ids() const { return thread_ids_; }

  // Reads one fault event; nullopt if none is pending (non-blocking fd).
  // Events are read several at a time: after a read that found fewer than
  // it had room for, the first nullopt comes without a read (the caller
  // polls the fd before it asks again). One thread reads.
  std::optional<PageFault> ReadFault();

  // Maps a page with these contents (`src`, 4 KiB), write-protected unless
  // `writable`; wakes the threads that faulted on it unless `wake` is false
  // (then Wake does, later).
  void Install(uint64_t address, const void* src, bool writable, bool wake = true);
  // `pages` pages from `address` on. Unprotecting wakes the threads waiting
  // to write unless `wake` is false.
  void WriteProtect(uint64_t address, bool protect, bool wake = true, uint64_t pages = 1);
  // Drops the pages: the next access faults as MISSING.
  void Drop(uint64_t address, uint64_t pages = 1);
  void Wake(uint64_t address);

 private:
  UniqueFd fd_;
  bool thread_ids_ = false;
  void* base_;
  size_t size_;
  std::array<uffd_msg, 16> events_{};
  size_t events_read_ = 0;  // in events_
  size_t events_taken_ = 0;
  bool drained_ = false;  // the last read took every event there was
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_FAULT_USERFAULTFD_H_

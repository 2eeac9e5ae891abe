// Guest pages in flight between node processes, as handles to pooled 4 KiB
// buffers: a message names its page's buffer instead of carrying the bytes,
// so a page crosses a node with as few copies as the path allows (from the
// socket into its buffer, from the buffer into guest memory). Copying a
// handle shares the buffer; its bytes are not to be changed once shared.
//
// Each pool counts the copies of page data into and out of its buffers;
// tests assert on the counts (a remote read fault copies twice on the node
// that faulted and once on the node that sent the page).
#ifndef SSIVM_COMMON_PAGE_BUFFER_H_
#define SSIVM_COMMON_PAGE_BUFFER_H_

#include <cstdint>
#include <memory>

#include "guest/abi/page.h"

namespace ssivm {

struct PagePoolState;

class PageBuffer {
 public:
  PageBuffer() = default;  // no page

  explicit operator bool() const { return bytes_ != nullptr; }
  const uint8_t* data() const { return bytes_.get(); }
  // For the one writer before the handle is shared (the transport's receive,
  // a test filling a page).
  uint8_t* mutable_data() { return bytes_.get(); }

  // Copies the page out to `dst` (kPageSize bytes) and counts the copy.
  void CopyTo(void* dst) const;
  // Counts a copy made outside (the kernel's recv into the buffer, or
  // UFFDIO_COPY out of it).
  void CountCopy() const;
  // Same bytes (for tests).
  bool SameBytes(const PageBuffer& o) const;

 private:
  friend class PagePool;
  PageBuffer(std::shared_ptr<uint8_t> bytes, PagePoolState* pool)
      : bytes_(std::move(bytes)), pool_(pool) {}
  std::shared_ptr<uint8_t> bytes_;
  PagePoolState* pool_ = nullptr;  // kept alive by bytes_'s deleter
};

class PagePool {
 public:
  struct Stats {
    uint64_t copies = 0;       // page copies into or out of this pool's buffers
    uint64_t allocations = 0;  // buffers handed out
    uint64_t live = 0;         // buffers handed out and not yet released
  };

  // Keeps up to `keep_free` released buffers for reuse.
  explicit PagePool(size_t keep_free = 256);

  // A buffer with unspecified contents.
  PageBuffer Allocate();
  // A buffer holding a copy of the kPageSize bytes at `src` (counted).
  PageBuffer CopyOf(const void* src);
  Stats stats() const;

 private:
  std::shared_ptr<PagePoolState> state_;
};

}  // namespace ssivm

#endif  // SSIVM_COMMON_PAGE_BUFFER_H_

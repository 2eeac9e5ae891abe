#include "dsm/fault/userfaultfd.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {
namespace {

int OpenUserfaultfd() {
  const int dev = ::open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev >= 0) {
    const int fd = ::ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
    ::close(dev);
    if (fd >= 0) return fd;
  }
  const int fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0) {
    ThrowErrno(
        "cannot open userfaultfd (neither /dev/userfaultfd nor the syscall works; "
        "ssivm needs it for the DSM)");
  }
  return fd;
}

// Negotiates the API on a new descriptor with `features`; false if the
// kernel refuses them (EINVAL), throws for anything else.
bool NegotiateApi(int fd, uint64_t features) {
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = features;
  if (::ioctl(fd, UFFDIO_API, &api) == 0) return true;
  if (errno == EINVAL) return false;
  ThrowErrno("UFFDIO_API");
}

}  // namespace

Userfaultfd::Userfaultfd(void* base, size_t size)
    : fd_(OpenUserfaultfd()), base_(base), size_(size) {
  // Thread ids say which vCPU faulted (placement); without them the DSM
  // works all the same. A refused UFFDIO_API may not be repeated on the same
  // descriptor on every kernel: the second try gets a new one.
  thread_ids_ = NegotiateApi(fd_.get(), UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_THREAD_ID);
  if (!thread_ids_) {
    fd_.Reset(OpenUserfaultfd());
    if (!NegotiateApi(fd_.get(), UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
      throw Error(
          "UFFDIO_API: the host kernel has no write-protect faults for userfaultfd (too old?)");
    }
  }
  uffdio_register reg{};
  reg.range.start = reinterpret_cast<uint64_t>(base);
  reg.range.len = size;
  reg.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(fd_.get(), UFFDIO_REGISTER, &reg) != 0) {
    ThrowErrno(fmt::format("UFFDIO_REGISTER of {} MiB", size >> 20));
  }
}

Userfaultfd::~Userfaultfd() {
  uffdio_range r{reinterpret_cast<uint64_t>(base_), size_};
  ::ioctl(fd_.get(), UFFDIO_UNREGISTER, &r);
}

std::optional<PageFault> Userfaultfd::ReadFault() {
  for (;;) {
    if (events_taken_ == events_read_) {
      if (std::exchange(drained_, false)) return std::nullopt;
      const ssize_t n = ::read(fd_.get(), events_.data(), sizeof(events_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return std::nullopt;
      if (n <= 0 || n % sizeof(uffd_msg) != 0) ThrowErrno("read from userfaultfd");
      events_read_ = static_cast<size_t>(n) / sizeof(uffd_msg);
      events_taken_ = 0;
      drained_ = events_read_ < events_.size();
    }
    const uffd_msg& msg = events_[events_taken_++];
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    const uint64_t flags = msg.arg.pagefault.flags;
    return PageFault{msg.arg.pagefault.address & ~(abi::kPageSize - 1),
                     (flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP)) != 0,
                     thread_ids_ ? msg.arg.pagefault.feat.ptid : 0};
  }
}

void Userfaultfd::Install(uint64_t address, const void* src, bool writable, bool wake) {
  uffdio_copy c{};
  c.dst = address;
  c.src = reinterpret_cast<uint64_t>(src);
  c.len = abi::kPageSize;
  c.mode = (writable ? 0 : UFFDIO_COPY_MODE_WP) | (wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE);
  while (::ioctl(fd_.get(), UFFDIO_COPY, &c) != 0) {
    if (errno == EAGAIN) continue;
    ThrowErrno(fmt::format("UFFDIO_COPY to {:#x}", address));
  }
}

void Userfaultfd::WriteProtect(uint64_t address, bool protect, bool wake, uint64_t pages) {
  uffdio_writeprotect w{};
  w.range.start = address;
  w.range.len = pages * abi::kPageSize;
  w.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : (wake ? 0 : UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
  if (::ioctl(fd_.get(), UFFDIO_WRITEPROTECT, &w) != 0) {
    ThrowErrno(fmt::format("UFFDIO_WRITEPROTECT {} of {} pages at {:#x}", protect ? "on" : "off",
                           pages, address));
  }
}

void Userfaultfd::Drop(uint64_t address, uint64_t pages) {
  if (::madvise(reinterpret_cast<void*>(address), pages * abi::kPageSize, MADV_DONTNEED) != 0) {
    ThrowErrno(fmt::format("MADV_DONTNEED of {} pages at {:#x}", pages, address));
  }
}

void Userfaultfd::Wake(uint64_t address) {
  uffdio_range r{address, abi::kPageSize};
  if (::ioctl(fd_.get(), UFFDIO_WAKE, &r) != 0)
    ThrowErrno(fmt::format("UFFDIO_WAKE at {:#x}", address));
}

}  // namespace ssivm::dsm

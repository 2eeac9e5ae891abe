// Owning memory mapping.
#ifndef SSIVM_COMMON_MAPPING_H_
#define SSIVM_COMMON_MAPPING_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace ssivm {

class Mapping {
 public:
  Mapping() = default;
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      Unmap();
      addr_ = std::exchange(o.addr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { Unmap(); }

  // Private anonymous memory, zero-filled, not reserved up front (guest RAM is
  // sparse until touched). `what` names it in the error on failure.
  static Mapping Anonymous(size_t size, std::string_view what);
  // mmap(fd) shared; e.g. a vCPU's kvm_run area.
  static Mapping Shared(int fd, size_t size, std::string_view what);

  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }

 private:
  void Unmap() {
    if (addr_) ::munmap(addr_, size_);
    addr_ = nullptr;
  }
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ssivm

#endif  // SSIVM_COMMON_MAPPING_H_

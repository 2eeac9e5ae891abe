#include "common/mapping.h"

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

Mapping Mapping::Anonymous(size_t size, std::string_view what) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) ThrowErrno(fmt::format("mmap {} ({} MiB)", what, size >> 20));
  return {p, size};
}

Mapping Mapping::Shared(int fd, size_t size, std::string_view what) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) ThrowErrno(fmt::format("mmap {}", what));
  return {p, size};
}

}  // namespace ssivm

#include "common/error.h"

#include <cstring>

#include <fmt/format.h>

namespace ssivm {

std::string ErrnoText(int err) {
  return fmt::format("{} (errno {})", std::strerror(err), err);
}

void ThrowErrno(std::string_view what, int err) {
  throw Error(fmt::format("{}: {}", what, ErrnoText(err)));
}

}  // namespace ssivm

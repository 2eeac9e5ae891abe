#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"

namespace ssivm {

std::vector<uint8_t> ReadFileBytes(const std::string& path, uint64_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) ThrowErrno(fmt::format("cannot open {}", path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) ThrowErrno(fmt::format("cannot stat {}", path));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: not a regular file", path));
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    throw Error(fmt::format("{}: {} bytes is larger than the limit of {} bytes", path, st.st_size,
                            max_bytes));
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno(fmt::format("cannot read {}", path));
    if (n == 0) throw Error(fmt::format("{}: file shrank while being read", path));
    done += static_cast<size_t>(n);
  }
  return bytes;
}

}  // namespace ssivm

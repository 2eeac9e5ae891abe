#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"

namespace ssivm {
namespace {

// A new file beside `path` holding `bytes`, synced; returns its name. Its
// random name is created with O_EXCL (mkostemp): nothing planted is reused.
std::string WriteTemporary(const std::string& path, std::string_view bytes, mode_t mode) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = fmt::format("{}/.{}.XXXXXX", dir, base);
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) ThrowErrno(fmt::format("cannot create a temporary file for {}", path));
  const auto fail = [&tmp](const std::string& what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    ThrowErrno(fmt::format("{} {}", what, tmp), err);
  };
  if (::fchmod(fd.get(), mode) != 0) fail("cannot set the mode of");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail("cannot sync");
  return tmp;
}

}  // namespace

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

void WriteFileAtomic(const std::string& path, std::string_view bytes, mode_t mode) {
  const std::string tmp = WriteTemporary(path, bytes, mode);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    ThrowErrno(fmt::format("cannot rename {} to {}", tmp, path), err);
  }
}

bool CreateFileExclusive(const std::string& path, std::string_view bytes, mode_t mode) {
  // Already there: the directory stays untouched (no temporary file comes and
  // goes), so that running a provisioning step again changes nothing.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return false;
  const std::string tmp = WriteTemporary(path, bytes, mode);
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc == 0) return true;
  if (err == EEXIST) return false;
  ThrowErrno(fmt::format("cannot create {}", path), err);
}

void EnsurePrivateDir(const std::string& dir, ExistingDir existing) {
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty()) throw Error("an empty directory path");
  // Each missing component, parents first.
  bool made = false;
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    const std::string part = path.substr(0, end);
    made = ::mkdir(part.c_str(), 0700) == 0;
    if (!made && errno != EEXIST) ThrowErrno(fmt::format("cannot create directory {}", part));
    if (end == std::string::npos) break;
  }
  // Checked through a descriptor: what is checked is what gets changed.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    struct stat link {};
    if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      throw Error(fmt::format("{} is a symbolic link, not a directory", path));
    }
    ThrowErrno(fmt::format("cannot open directory {}", path), err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) ThrowErrno(fmt::format("cannot stat {}", path));
  if (st.st_uid != ::geteuid()) {
    throw Error(fmt::format(
        "directory {} is owned by uid {}, not by this user (uid {}): refusing to use it (whoever "
        "owns it controls what is in it); remove it or choose another directory",
        path, st.st_uid, ::geteuid()));
  }
  const mode_t perms = st.st_mode & 07777;
  if ((perms & (S_IWGRP | S_IWOTH)) != 0) {
    throw Error(fmt::format(
        "directory {} is writable by other users (mode {:04o}): refusing to use it; make it 0700 "
        "or remove it",
        path, perms));
  }
  if ((made || existing == ExistingDir::kTighten) && perms != 0700 &&
      ::fchmod(fd.get(), 0700) != 0) {
    ThrowErrno(fmt::format("cannot make {} private (mode 0700)", path));
  }
}

}  // namespace ssivm

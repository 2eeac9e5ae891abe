#include "tests/support/as_user.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"

namespace ssivm::testing {
namespace {

// The child's exit statuses.
constexpr int kAnswered = 0;
constexpr int kNoConnection = 1;
constexpr int kNoUser = 2;

std::string ReadAll(int fd) {
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

std::string AskAs(uid_t uid, const std::string& path, const std::string& request) {
  const sockaddr_un a = UnixAddress(path, "socket");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) ThrowErrno("pipe2");
  UniqueFd from_child(p[0]), to_parent(p[1]);
  const pid_t pid = ::fork();
  if (pid < 0) ThrowErrno("fork");
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) {
      ::_exit(kNoUser);
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
      const int err = errno;
      (void)!::write(to_parent.get(), &err, sizeof(err));
      ::_exit(kNoConnection);
    }
    (void)!::write(fd, request.data(), request.size());
    char buf[512];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
      (void)!::write(to_parent.get(), buf, static_cast<size_t>(n));
    }
    ::_exit(kAnswered);
  }
  to_parent.Reset();
  std::string out = ReadAll(from_child.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == kNoConnection && out.size() == sizeof(int)) {
    int err = 0;
    std::memcpy(&err, out.data(), sizeof(err));
    return "connect: " + ErrnoText(err);
  }
  if (code != kAnswered) return fmt::format("cannot become uid {}", uid);
  return out;
}

}  // namespace ssivm::testing

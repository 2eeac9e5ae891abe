#include "common/unix_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

sockaddr_un UnixAddress(const std::string& path, const std::string& what) {
  sockaddr_un a{};
  if (path.empty() || path.size() >= sizeof(a.sun_path)) {
    throw Error(
        fmt::format("{} path '{}' must have 1 to {} bytes", what, path, sizeof(a.sun_path) - 1));
  }
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size());
  return a;
}

bool SocketAnswers(const std::string& path) {
  const sockaddr_un a = UnixAddress(path, "socket");
  const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

UniqueFd ListenPrivate(const std::string& path, const std::string& what, int backlog) {
  const sockaddr_un a = UnixAddress(path, what);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw Error(fmt::format("{} path {} exists and is not a socket", what, path));
    }
    if (SocketAnswers(path)) {
      throw Error(fmt::format(
          "{} {} is in use: something (another running VM?) listens there; it is left alone", what,
          path));
    }
    ::unlink(path.c_str());  // a stale socket of a process that ended
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) ThrowErrno(fmt::format("{} {}: socket", what, path));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
    ThrowErrno(fmt::format("{} {}: bind", what, path));
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    ThrowErrno(fmt::format("{} {}: making it owner-only (0600)", what, path), err);
  }
  if (::listen(fd.get(), backlog) != 0) ThrowErrno(fmt::format("{} {}: listen", what, path));
  return fd;
}

Peer AcceptPeer(int listen_fd, int flags) {
  Peer p;
  p.fd.Reset(::accept4(listen_fd, nullptr, nullptr, flags));
  if (!p.fd.valid()) return p;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(p.fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof(cred)) {
    p.uid = cred.uid;
    p.trusted = cred.uid == 0 || cred.uid == ::geteuid();
  }
  return p;
}

std::string RefusalText(const Peer& peer) {
  const std::string who = peer.uid == static_cast<uid_t>(-1) ? std::string("an unknown user")
                                                             : fmt::format("uid {}", peer.uid);
  return fmt::format("permission denied: {} may not use this socket (only root and uid {} may)",
                     who, ::geteuid());
}

}  // namespace ssivm

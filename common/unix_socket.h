// Unix stream sockets that only their owner (and root) may use. A listening
// socket is made mode 0600, and every connection's peer credentials
// (SO_PEERCRED) are checked as well: a file mode is not enough on its own (it
// is set just after bind, and some file systems ignore it). A path where
// something still listens is never taken over.
#ifndef SSIVM_COMMON_UNIX_SOCKET_H_
#define SSIVM_COMMON_UNIX_SOCKET_H_

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <string>

#include "common/unique_fd.h"

namespace ssivm {

// The address of `path`; Error naming `what` (e.g. "control socket") if the
// path does not fit.
sockaddr_un UnixAddress(const std::string& path, const std::string& what);

// Whether something accepts connections on `path` now.
bool SocketAnswers(const std::string& path);

// Listens on `path` (mode 0600). Replaces a stale socket; refuses (Error
// naming `what` and the path) any other file there, and a socket something
// still listens on (another running VM's).
UniqueFd ListenPrivate(const std::string& path, const std::string& what, int backlog = 8);

// A connection and who made it.
struct Peer {
  UniqueFd fd;           // invalid if nothing was accepted
  bool trusted = false;  // root, or this process's effective user
  uid_t uid = static_cast<uid_t>(-1);
};

// Accepts one connection (accept4 with `flags`) and checks its peer.
Peer AcceptPeer(int listen_fd, int flags = SOCK_CLOEXEC);

// Why an untrusted peer is refused, for its answer and the log.
std::string RefusalText(const Peer& peer);

}  // namespace ssivm

#endif  // SSIVM_COMMON_UNIX_SOCKET_H_

#include "tools/ssictl/console_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"
#include "hypervisor/node/escape_filter.h"

namespace ssivm {
namespace {

// Puts the terminal in raw mode for its lifetime.
class RawTerminal {
 public:
  RawTerminal() {
    termios t{};
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &t) != 0) return;
    saved_ = t;
    cfmakeraw(&t);
    t.c_oflag |= OPOST | ONLCR;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  ~RawTerminal() {
    if (saved_) ::tcsetattr(STDIN_FILENO, TCSANOW, &*saved_);
  }
  bool active() const { return saved_.has_value(); }

 private:
  std::optional<termios> saved_;
};

bool SendAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

int AttachConsole(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path))
    throw Error(fmt::format("socket path {} is too long", path));
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) ThrowErrno("socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ThrowErrno(
        fmt::format("cannot attach to console socket {} (is the VM running with "
                    "--console socket:{}?)",
                    path, path));
  }
  RawTerminal raw;
  if (raw.active())
    std::fprintf(stderr, "ssictl: attached to %s; Ctrl-A x detaches\r\n", path.c_str());
  EscapeFilter filter;
  std::vector<uint8_t> buf(4096), out;
  bool stdin_open = true;
  for (;;) {
    pollfd fds[2] = {{sock.get(), POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("poll");
    }
    if (fds[0].revents) {
      const ssize_t n = ::read(sock.get(), buf.data(), buf.size());
      if (n <= 0) return 0;  // the VM stopped
      if (::write(STDOUT_FILENO, buf.data(), static_cast<size_t>(n)) < 0) return 0;
    }
    if (fds[1].revents) {
      const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
      if (n <= 0) {
        stdin_open = false;  // keep showing output until the VM closes
        continue;
      }
      out.clear();
      if (raw.active()) {
        if (filter.Feed({buf.data(), static_cast<size_t>(n)}, out)) return 0;
      } else {
        out.assign(buf.begin(), buf.begin() + n);
      }
      if (!SendAll(sock.get(), out.data(), out.size())) return 0;
    }
  }
}

}  // namespace ssivm

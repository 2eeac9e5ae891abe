#include "hypervisor/node/control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "common/thread_filter.h"

namespace ssivm {
namespace {

constexpr size_t kMaxRequest = 4096;

nlohmann::json ErrorAnswer(const std::string& why) {
  return {{"error", why}};
}

}  // namespace

std::string HandleControlRequest(const std::string& line, const ControlHandlers& h) {
  nlohmann::json answer;
  const nlohmann::json req = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) {
    answer = ErrorAnswer("the request is not JSON");
  } else if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
    answer = ErrorAnswer("the request needs a string field \"cmd\"");
  } else if (req["cmd"] == "status") {
    answer = h.status();
  } else if (req["cmd"] == "stop") {
    h.stop();
    answer = {{"ok", true}};
  } else {
    answer = ErrorAnswer(
        fmt::format("unknown command '{}' (status, stop)", req["cmd"].get<std::string>()));
  }
  return answer.dump();
}

ControlServer::ControlServer(std::string path, ControlHandlers handlers)
    : path_(std::move(path)), handlers_(std::move(handlers)) {
  sockaddr_un addr{};
  if (path_.size() >= sizeof(addr.sun_path)) {
    throw Error(fmt::format("control socket path {} is too long", path_));
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw Error(fmt::format("control socket path {} exists and is not a socket", path_));
    }
    ::unlink(path_.c_str());
  }
  listen_.Reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  if (!listen_.valid() ||
      ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_.get(), 8) != 0) {
    ThrowErrno(fmt::format("control socket {}", path_));
  }
  shutdown_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  thread_ = std::thread([this] {
    RestrictThisThread(ThreadKind::kControl);
    Serve();
  });
}

ControlServer::~ControlServer() {
  const uint64_t one = 1;
  (void)!::write(shutdown_.get(), &one, sizeof(one));
  thread_.join();
  ::unlink(path_.c_str());
}

void ControlServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {shutdown_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    UniqueFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client.valid()) Answer(client.get());
  }
}

// One request per connection; a client that sends nothing within a second
// is dropped (the server is single-threaded).
void ControlServer::Answer(int fd) {
  std::string line;
  char buf[512];
  while (line.find('\n') == std::string::npos && line.size() < kMaxRequest) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) return;
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  std::string answer =
      line.size() >= kMaxRequest
          ? nlohmann::json{{"error", "the request is longer than 4096 bytes"}}.dump()
          : HandleControlRequest(line.substr(0, line.find('\n')), handlers_);
  answer += '\n';
  (void)!::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
}

}  // namespace ssivm

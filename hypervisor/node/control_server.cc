#include "hypervisor/node/control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.h"
#include "common/thread_filter.h"
#include "common/unix_socket.h"

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
  } else if (const auto it = h.commands.find(req["cmd"].get<std::string>());
             it != h.commands.end()) {
    try {
      answer = it->second(req);
    } catch (const Error& e) {
      answer = ErrorAnswer(e.what());
    }
  } else {
    std::string known = "status, stop";
    for (const auto& [name, f] : h.commands) known += ", " + name;
    answer =
        ErrorAnswer(fmt::format("unknown command '{}' ({})", req["cmd"].get<std::string>(), known));
  }
  return answer.dump();
}

ControlServer::ControlServer(std::string path, ControlHandlers handlers)
    : path_(std::move(path)),
      handlers_(std::move(handlers)),
      listen_(ListenPrivate(path_, "control socket")) {
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
    const Peer client = AcceptPeer(listen_.get());
    if (client.fd.valid()) Answer(client);
  }
}

// One request per connection; a client that sends nothing within a second
// is dropped (the server is single-threaded). The request of a peer that is
// neither root nor this user is read (so that closing does not reset the
// connection before it reads the answer) but not acted on: it is told why.
void ControlServer::Answer(const Peer& peer) {
  const int fd = peer.fd.get();
  std::string line;
  char buf[512];
  while (line.find('\n') == std::string::npos && line.size() < kMaxRequest) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) return;
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  std::string answer;
  if (!peer.trusted) {
    answer = ErrorAnswer(RefusalText(peer)).dump();
  } else if (line.size() >= kMaxRequest) {
    answer = ErrorAnswer("the request is longer than 4096 bytes").dump();
  } else {
    answer = HandleControlRequest(line.substr(0, line.find('\n')), handlers_);
  }
  answer += '\n';
  (void)!::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
}

}  // namespace ssivm

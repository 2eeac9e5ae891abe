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

void Reply(int fd, std::string answer) {
  answer += '\n';
  (void)!::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
}

nlohmann::json ParseRequest(const std::string& line) {
  return nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
}

bool HasCommand(const nlohmann::json& req) {
  return req.is_object() && req.contains("cmd") && req["cmd"].is_string();
}

// Whether `req` asks for one of the extra commands.
bool IsExtraCommand(const nlohmann::json& req, const ControlHandlers& h) {
  return HasCommand(req) && h.commands.count(req["cmd"].get<std::string>()) != 0;
}

// The answer to a parsed request (discarded: the line was not JSON).
std::string HandleRequest(const nlohmann::json& req, const ControlHandlers& h) {
  nlohmann::json answer;
  if (req.is_discarded()) {
    answer = ErrorAnswer("the request is not JSON");
  } else if (!HasCommand(req)) {
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

}  // namespace

std::string HandleControlRequest(const std::string& line, const ControlHandlers& h) {
  return HandleRequest(ParseRequest(line), h);
}

ControlServer::ControlServer(std::string path, ControlHandlers handlers)
    : path_(std::move(path)),
      handlers_(std::move(handlers)),
      listen_(ListenPrivate(path_, "control socket")) {
  shutdown_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  for (size_t i = 0; i < kMaxRunning; ++i) {
    workers_.emplace_back([this] {
      RestrictThisThread(ThreadKind::kControl);
      Work();
    });
  }
  thread_ = std::thread([this] {
    RestrictThisThread(ThreadKind::kControl);
    Serve();
  });
}

ControlServer::~ControlServer() {
  const uint64_t one = 1;
  (void)!::write(shutdown_.get(), &one, sizeof(one));
  thread_.join();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& w : workers_) w.join();
  ::unlink(path_.c_str());
}

bool ControlServer::Start(UniqueFd& fd, nlohmann::json request) {
  {
    std::lock_guard lock(mu_);
    if (taken_ >= kMaxRunning) return false;
    ++taken_;
    jobs_.emplace_back(std::move(fd), std::move(request));
  }
  cv_.notify_one();
  return true;
}

void ControlServer::Work() {
  for (;;) {
    std::pair<UniqueFd, nlohmann::json> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left to answer
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Reply(job.first.get(), HandleRequest(job.second, handlers_));
    std::lock_guard lock(mu_);
    --taken_;
  }
}

void ControlServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {shutdown_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    Peer client = AcceptPeer(listen_.get());
    if (client.fd.valid()) Answer(std::move(client));
  }
}

// One request per connection; a client that sends nothing within a second
// is dropped (requests are read one at a time). The request of a peer that
// is neither root nor this user is read (so that closing does not reset the
// connection before it reads the answer) but not acted on: it is told why.
void ControlServer::Answer(Peer peer) {
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
  line = line.substr(0, line.find('\n'));
  if (!peer.trusted) {
    Reply(fd, ErrorAnswer(RefusalText(peer)).dump());
  } else if (line.size() >= kMaxRequest) {
    Reply(fd, ErrorAnswer("the request is longer than 4096 bytes").dump());
  } else if (nlohmann::json req = ParseRequest(line); !IsExtraCommand(req, handlers_)) {
    Reply(fd, HandleRequest(req, handlers_));
  } else if (!Start(peer.fd, std::move(req))) {
    Reply(fd, ErrorAnswer(fmt::format("busy: {} requests are running here; try again when one "
                                      "is done",
                                      kMaxRunning))
                  .dump());
  }
}

}  // namespace ssivm

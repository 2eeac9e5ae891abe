#include "tests/support/control_stub.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "common/unix_socket.h"

namespace ssivm::testing {
namespace {

constexpr int kPollMs = 20;  // how often the serving thread looks for its stop

}  // namespace

ControlStub::ControlStub(std::string path, std::vector<std::string> answers,
                         std::chrono::milliseconds delay)
    : path_(std::move(path)),
      answers_(std::move(answers)),
      delay_(delay),
      listen_(ListenPrivate(path_, "control stub socket")),
      thread_([this](const std::stop_token& stop) { Serve(stop); }) {}

ControlStub::~ControlStub() {
  thread_.request_stop();
  thread_.join();
  ::unlink(path_.c_str());
}

std::vector<std::string> ControlStub::Requests() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void ControlStub::Serve(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    pollfd p{listen_.get(), POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const Peer client = AcceptPeer(listen_.get());
    if (client.fd.valid()) Answer(client.fd.get(), stop);
  }
}

void ControlStub::Answer(int fd, const std::stop_token& stop) {
  std::string line;
  char buf[512];
  while (line.find('\n') == std::string::npos && !stop.stop_requested()) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  std::string answer;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    answer = requests_.size() < answers_.size() ? answers_[requests_.size()]
                                                : R"({"error":"control stub: no answer left"})";
    requests_.push_back(line.substr(0, line.find('\n')));
    // Sleeps the delay, unless the stub is destroyed first.
    wake_.wait_for(lock, stop, delay_, [] { return false; });
  }
  answer += '\n';
  (void)!::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
}

}  // namespace ssivm::testing

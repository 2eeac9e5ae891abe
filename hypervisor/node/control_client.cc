#include "hypervisor/node/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"

namespace ssivm {
namespace {

using Clock = std::chrono::steady_clock;

// The answer as a JSON object, {"error": ...} included; Error naming the
// socket for anything else.
nlohmann::json AnswerObject(const std::string& answer, const std::string& socket) {
  nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(fmt::format("{} answered something that is not a JSON object", socket));
  }
  return j;
}

// The answer unless it is {"error": ...}, which throws Error naming the socket.
nlohmann::json UnlessError(nlohmann::json answer, const std::string& socket) {
  if (const std::optional<std::string> e = AnswerError(answer)) {
    throw Error(fmt::format("{}: {}", socket, *e));
  }
  return answer;
}

// poll()'s timeout for what is left until `deadline` (-1: none); Error
// naming the socket once it has passed.
int WaitMs(Clock::time_point deadline, std::chrono::milliseconds timeout,
           const std::string& socket) {
  if (timeout == kNoTimeout) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) {
    throw Error(fmt::format("{} gave no answer within {:g} s", socket,
                            std::chrono::duration<double>(timeout).count()));
  }
  return static_cast<int>(std::min<int64_t>(left.count(), INT_MAX));
}

// Everything the node writes until it closes the connection.
std::string ReadAnswer(int fd, const std::string& socket, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline =
      timeout == kNoTimeout ? Clock::time_point::max() : Clock::now() + timeout;
  std::string answer;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, WaitMs(deadline, timeout, socket));
    if (ready < 0 && errno != EINTR) ThrowErrno(fmt::format("waiting for {} to answer", socket));
    if (ready <= 0) continue;  // WaitMs says when the time is up
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) return answer;
    if (n < 0 && errno == EINTR) continue;
    // A server that refused to hear the request closes with it unread: the
    // connection is reset after its answer.
    if (n < 0 && errno == ECONNRESET && !answer.empty()) return answer;
    if (n < 0) ThrowErrno(fmt::format("reading the answer of {}", socket));
    answer.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::optional<nlohmann::json> RequestNode(const std::string& socket, const nlohmann::json& request,
                                          std::chrono::milliseconds timeout) {
  sockaddr_un a{};
  if (socket.size() >= sizeof(a.sun_path)) {
    throw Error(fmt::format("control socket path {} is too long", socket));
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) ThrowErrno("socket(AF_UNIX)");
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket.c_str(), sizeof(a.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) return std::nullopt;
    ThrowErrno(fmt::format("cannot reach the node's control socket {}", socket));
  }
  const std::string line = request.dump() + "\n";
  (void)!::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL);
  return AnswerObject(ReadAnswer(fd.get(), socket, timeout), socket);
}

std::optional<std::string> AnswerError(const nlohmann::json& answer) {
  const auto it = answer.find("error");
  if (it == answer.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<nlohmann::json> AskNodeIfRunning(const std::string& socket,
                                               const nlohmann::json& request) {
  std::optional<nlohmann::json> j = RequestNode(socket, request);
  if (!j) return std::nullopt;
  return UnlessError(std::move(*j), socket);
}

nlohmann::json ParseControlAnswer(const std::string& answer, const std::string& socket) {
  return UnlessError(AnswerObject(answer, socket), socket);
}

nlohmann::json AskNode(const std::string& socket, const nlohmann::json& request) {
  std::optional<nlohmann::json> j = AskNodeIfRunning(socket, request);
  if (!j) throw Error(fmt::format("no node listens on the control socket {}", socket));
  return *j;
}

}  // namespace ssivm

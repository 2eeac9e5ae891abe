#include "hypervisor/node/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"

namespace ssivm {

std::optional<nlohmann::json> AskNodeIfRunning(const std::string& socket,
                                               const nlohmann::json& request) {
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
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    // A server that refused to hear the request closes with it unread: the
    // connection is reset after its answer.
    if (n < 0 && errno == ECONNRESET && !answer.empty()) break;
    if (n < 0) ThrowErrno(fmt::format("reading the answer of {}", socket));
    answer.append(buf, static_cast<size_t>(n));
  }
  return ParseControlAnswer(answer, socket);
}

nlohmann::json ParseControlAnswer(const std::string& answer, const std::string& socket) {
  nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(fmt::format("{} answered something that is not a JSON object", socket));
  }
  if (j.contains("error") && j["error"].is_string()) {
    throw Error(fmt::format("{}: {}", socket, j["error"].get<std::string>()));
  }
  return j;
}

nlohmann::json AskNode(const std::string& socket, const nlohmann::json& request) {
  std::optional<nlohmann::json> j = AskNodeIfRunning(socket, request);
  if (!j) throw Error(fmt::format("no node listens on the control socket {}", socket));
  return *j;
}

}  // namespace ssivm

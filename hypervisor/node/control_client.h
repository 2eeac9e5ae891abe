// The client side of a node's control socket (see control_server.h): one
// JSON request, one JSON answer. Used by ssictl and by `ssivm --query`.
#ifndef SSIVM_HYPERVISOR_NODE_CONTROL_CLIENT_H_
#define SSIVM_HYPERVISOR_NODE_CONTROL_CLIENT_H_

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ssivm {

// Waits for the answer however long it takes (status and stop answer at once).
inline constexpr std::chrono::milliseconds kNoTimeout = std::chrono::milliseconds::max();

// Sends one request and returns the node's answer as it is, {"error": ...}
// included. nullopt if no node listens there (no socket file, or a stale one
// nobody accepts on); throws Error naming the socket if it cannot be
// reached, gives no answer within `timeout`, or answers something that is
// not a JSON object.
std::optional<nlohmann::json> RequestNode(const std::string& socket, const nlohmann::json& request,
                                          std::chrono::milliseconds timeout = kNoTimeout);

// The text of an {"error": "..."} answer; nullopt for any other.
std::optional<std::string> AnswerError(const nlohmann::json& answer);

// As RequestNode without a time limit, but an {"error": ...} answer throws
// Error naming the socket.
std::optional<nlohmann::json> AskNodeIfRunning(const std::string& socket,
                                               const nlohmann::json& request);

// A node's answer (what it wrote before closing) as JSON. Throws Error
// naming the socket unless it is a JSON object, or if it is {"error": ...}.
nlohmann::json ParseControlAnswer(const std::string& answer, const std::string& socket);

// As AskNodeIfRunning, but a node that is not running is an Error too.
nlohmann::json AskNode(const std::string& socket, const nlohmann::json& request);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CONTROL_CLIENT_H_

// The node's control socket: a Unix socket speaking one JSON object per
// line, request and answer ({"cmd": "status"} / {"cmd": "stop"}). ssictl
// status and ssictl down talk to it.
#ifndef SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_
#define SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_

#include <functional>
#include <map>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "common/unix_socket.h"

namespace ssivm {

struct ControlHandlers {
  std::function<nlohmann::json()> status;
  std::function<void()> stop;
  // More commands by name ({"cmd": NAME, ...} -> the answer): migrate, pin,
  // unpin on the coordinator. A handler reports bad fields by throwing
  // Error, which becomes {"error": ...}.
  std::map<std::string, std::function<nlohmann::json(const nlohmann::json& request)>> commands;
};

// One request line -> one answer line (without the newline). Bad input
// (not JSON, not an object, unknown command) gets {"error": "..."} naming
// the problem; nothing throws.
std::string HandleControlRequest(const std::string& line, const ControlHandlers& handlers);

class ControlServer {
 public:
  // Listens on `path` (ListenPrivate: mode 0600; a stale socket is replaced,
  // a live one or any other file refused). Only root and this process's user
  // are answered; anyone else gets an error and is not heard.
  ControlServer(std::string path, ControlHandlers handlers);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  void Serve();
  void Answer(const Peer& peer);

  std::string path_;
  ControlHandlers handlers_;
  UniqueFd listen_;
  UniqueFd shutdown_;
  std::thread thread_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_

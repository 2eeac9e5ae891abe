// The node's control socket: a Unix socket speaking one JSON object per
// line, request and answer ({"cmd": "status"} / {"cmd": "stop"}). ssictl
// status and ssictl down talk to it.
#ifndef SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_
#define SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_

#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"

namespace ssivm {

struct ControlHandlers {
  std::function<nlohmann::json()> status;
  std::function<void()> stop;
};

// One request line -> one answer line (without the newline). Bad input
// (not JSON, not an object, unknown command) gets {"error": "..."} naming
// the problem; nothing throws.
std::string HandleControlRequest(const std::string& line, const ControlHandlers& handlers);

class ControlServer {
 public:
  // Listens on `path` (replacing a stale socket; refusing any other file).
  ControlServer(std::string path, ControlHandlers handlers);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  void Serve();
  void Answer(int fd);

  std::string path_;
  ControlHandlers handlers_;
  UniqueFd listen_;
  UniqueFd shutdown_;
  std::thread thread_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_

// The node's control socket: a Unix socket speaking one JSON object per
// line, request and answer ({"cmd": "status"} / {"cmd": "stop"}). ssictl
// status and ssictl down talk to it. The extra commands (a vCPU move waits
// until it is done) run on worker threads, so that status and stop are
// answered meanwhile and a second move is refused at once.
#ifndef SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_
#define SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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
  // Extra commands running at once (the workers); one more is refused
  // ("busy").
  static constexpr size_t kMaxRunning = 4;

  // Listens on `path` (ListenPrivate: mode 0600; a stale socket is replaced,
  // a live one or any other file refused). Only root and this process's user
  // are answered; anyone else gets an error and is not heard.
  ControlServer(std::string path, ControlHandlers handlers);
  // Waits for the extra commands still running (their handlers must end:
  // the migrator's Stop ends a waiting move).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  void Serve();
  void Answer(Peer peer);
  // Queues an extra command for a worker, which takes `fd`; false (`fd`
  // left as it was) if every worker has one.
  bool Start(UniqueFd& fd, nlohmann::json request);
  void Work();

  std::string path_;
  ControlHandlers handlers_;
  UniqueFd listen_;
  UniqueFd shutdown_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                 // under mu_
  size_t taken_ = 0;                                      // queued or running, under mu_
  std::deque<std::pair<UniqueFd, nlohmann::json>> jobs_;  // under mu_
  // Started with the server, before their filter, as every filtered thread
  // is: a thread started by a filtered one could not install its own.
  std::vector<std::thread> workers_;
  std::thread thread_;  // last
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CONTROL_SERVER_H_

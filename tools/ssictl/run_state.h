// What `ssictl up` leaves for `ssictl status` and `ssictl down` while a VM
// runs: one JSON file per VM in the run directory, naming each node's
// control socket.
#ifndef SSIVM_TOOLS_SSICTL_RUN_STATE_H_
#define SSIVM_TOOLS_SSICTL_RUN_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ssivm {

struct RunState {
  std::string name;
  int pid = 0;                       // the ssictl up process
  std::vector<std::string> control;  // index = node id
};

// /run/ssivm for root, else /tmp/ssivm-<uid>; created on demand.
std::string RunDir();
std::string ControlPath(const std::string& name, uint32_t node);

// Writes RunDir()/<name>.json; the destructor of RunStateFile removes it.
class RunStateFile {
 public:
  explicit RunStateFile(const RunState& state);
  ~RunStateFile();
  RunStateFile(const RunStateFile&) = delete;
  RunStateFile& operator=(const RunStateFile&) = delete;

 private:
  std::string path_;
};

// The VMs recorded in the run directory whose ssictl is still alive.
std::vector<RunState> RunningVms();

// A node's status answer as table columns (vCPUs, exits, DSM faults and
// pages), the column titles, and the lines under them: its fault latency
// and how long ago it heard from each peer (none if it has neither).
std::string NodeStatsHeader();
std::string NodeStatsColumns(const nlohmann::json& status);
std::vector<std::string> NodeDetailLines(const nlohmann::json& status);

// `ssictl status [NAME]` and `ssictl down [NAME]`; return the exit status.
int Status(const std::string& name, bool json);
int Down(const std::string& name);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_RUN_STATE_H_

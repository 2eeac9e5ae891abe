// What `ssictl up` leaves for `ssictl status` and `ssictl down` while a VM
// runs: one JSON file per VM in the run directory, naming each node's
// control socket. The run directory is private to its user (0700, owned by
// them): what is in it is trusted only because no one else can write there.
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
  uint64_t start_time = 0;           // its start (/proc/PID/stat, ticks after boot); 0: unknown
  std::vector<std::string> control;  // index = node id
};

// A VM name as `up --name` takes it (it names files in the run directory):
// 1-64 of [A-Za-z0-9._-], not starting with '.'. Throws Error naming the
// problem.
void CheckVmName(const std::string& name);

// A run-state file's text (JSON), and back. ParseRunState throws Error
// naming what is wrong (not JSON, a missing or mistyped field, a bad name,
// pid or socket path); nothing else escapes it.
std::string RunStateText(const RunState& state);
RunState ParseRunState(const std::string& text);

// Whether the `ssictl up` of a run state still runs: its pid lives and, if
// the start time was recorded, is the same process (not a reused pid).
bool RunStateAlive(const RunState& state);

// /run/ssivm for root, else /tmp/ssivm-<uid> (both made 0700), or
// $SSIVM_RUN_DIR; refused (Error) unless it is a directory this user owns
// and no one else can write.
std::string RunDir();
std::string ControlPath(const std::string& name, uint32_t node);

// Writes RunDir()/<name>.json for the lifetime of the object. Refuses
// (Error, changing nothing) a name whose VM still runs, and a file there
// that is not a run state; replaces one left by an ssictl that died.
class RunStateFile {
 public:
  explicit RunStateFile(RunState state);
  ~RunStateFile();
  RunStateFile(const RunStateFile&) = delete;
  RunStateFile& operator=(const RunStateFile&) = delete;

 private:
  std::string path_;
};

// The VMs recorded in the run directory whose ssictl is still alive (files
// left by one that died are removed). A file that is not a run state is
// skipped; `problems` (if given) gets "FILE: what is wrong" for it.
std::vector<RunState> RunningVms(std::vector<std::string>* problems = nullptr);

// The running VM named `name`, or with no name the only one running; Error
// if it does not run, if none runs, or if several run (naming them).
RunState SelectOneVm(const std::string& name);

// A node's status answer as table columns (vCPUs, exits, DSM faults and
// pages), the column titles, and the lines under them: its fault latency,
// how long ago it heard from each peer, the pages each vCPU pulled, and on
// node 0 the vCPUs' placement (none if it has none of these).
std::string NodeStatsHeader();
std::string NodeStatsColumns(const nlohmann::json& status);
std::vector<std::string> NodeDetailLines(const nlohmann::json& status);

// `ssictl status [NAME]` and `ssictl down [NAME]`; return the exit status.
int Status(const std::string& name, bool json);
int Down(const std::string& name);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_RUN_STATE_H_

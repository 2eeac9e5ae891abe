#include "tools/ssictl/run_state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "common/error.h"
#include "common/file.h"
#include "common/unique_fd.h"
#include "hypervisor/node/control_client.h"
#include "tools/ssictl/answer_fields.h"
#include "tools/ssictl/placement_status.h"

namespace ssivm {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxNodes = 64;  // the manifest's limit
constexpr uint64_t kMaxRunStateBytes = 64 << 10;

// When process `pid` started (field 22 of /proc/PID/stat), if it runs.
std::optional<uint64_t> ProcessStartTime(int pid) {
  std::ifstream f(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(f)), {});
  const size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return std::nullopt;
}

std::string RunStatePath(const std::string& name) {
  return fmt::format("{}/{}.json", RunDir(), name);
}

// The run state in `path`; Error naming the file if it is not one.
RunState ReadRunState(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path, kMaxRunStateBytes);
  try {
    return ParseRunState(std::string(bytes.begin(), bytes.end()));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: not a valid run-state file: {}", path, e.what()));
  }
}

// Holds an exclusive lock on the run directory: one `ssictl up` at a time
// checks a name and records it.
class RunDirLock {
 public:
  explicit RunDirLock(const std::string& dir)
      : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (!fd_.valid()) ThrowErrno(fmt::format("cannot open the run directory {}", dir));
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) ThrowErrno(fmt::format("cannot lock the run directory {}", dir));
    }
  }

 private:
  UniqueFd fd_;  // closing it releases the lock
};

}  // namespace

void CheckVmName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    throw Error(fmt::format("VM name '{}': use 1 to {} characters", name, kMaxNameLength));
  }
  if (name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
      std::string::npos) {
    throw Error(fmt::format("VM name '{}': use only letters, digits, '.', '_' and '-'", name));
  }
  if (name[0] == '.') throw Error(fmt::format("VM name '{}' must not start with '.'", name));
}

std::string RunStateText(const RunState& s) {
  const nlohmann::json j = {
      {"name", s.name}, {"pid", s.pid}, {"start_time", s.start_time}, {"control", s.control}};
  return j.dump(2) + "\n";
}

RunState ParseRunState(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error("not JSON");
  if (!j.is_object()) throw Error("not a JSON object");
  RunState s;
  if (!j.contains("name") || !j["name"].is_string()) throw Error("name: missing or not a string");
  s.name = j["name"].get<std::string>();
  CheckVmName(s.name);
  const auto max_pid = static_cast<int64_t>(std::numeric_limits<int>::max());
  if (!j.contains("pid") || !j["pid"].is_number_integer() || j["pid"].get<int64_t>() < 1 ||
      j["pid"].get<int64_t>() > max_pid) {
    throw Error(fmt::format("pid: missing or not a process id (1 to {})", max_pid));
  }
  s.pid = j["pid"].get<int>();
  if (j.contains("start_time")) {
    if (!j["start_time"].is_number_unsigned()) {
      throw Error("start_time: not a non-negative integer");
    }
    s.start_time = j["start_time"].get<uint64_t>();
  }
  if (!j.contains("control") || !j["control"].is_array() || j["control"].empty() ||
      j["control"].size() > kMaxNodes) {
    throw Error(fmt::format("control: missing or not a list of 1 to {} socket paths", kMaxNodes));
  }
  for (const nlohmann::json& c : j["control"]) {
    const size_t index = s.control.size();
    if (!c.is_string()) throw Error(fmt::format("control[{}]: not a string", index));
    const std::string path = c.get<std::string>();
    if (path.empty() || path[0] != '/' || path.size() >= sizeof(sockaddr_un::sun_path)) {
      throw Error(
          fmt::format("control[{}]: '{}' is not an absolute socket path of at most {} "
                      "bytes",
                      index, path, sizeof(sockaddr_un::sun_path) - 1));
    }
    s.control.push_back(path);
  }
  return s;
}

bool RunStateAlive(const RunState& s) {
  if (::kill(s.pid, 0) != 0 && errno == ESRCH) return false;
  if (s.start_time == 0) return true;
  const std::optional<uint64_t> started = ProcessStartTime(s.pid);
  return !started || *started == s.start_time;
}

std::string RunDir() {
  std::string dir;
  ExistingDir existing = ExistingDir::kTighten;
  if (const char* env = std::getenv("SSIVM_RUN_DIR"); env != nullptr && *env != '\0') {
    dir = env;
    existing = ExistingDir::kKeep;  // the user's choice: checked, not changed
  } else if (::geteuid() == 0 && ::access("/run", W_OK) == 0) {
    dir = "/run/ssivm";
  } else {
    dir = fmt::format("/tmp/ssivm-{}", ::geteuid());
  }
  try {
    EnsurePrivateDir(dir, existing);
  } catch (const Error& e) {
    throw Error(fmt::format("run directory: {} (SSIVM_RUN_DIR chooses another)", e.what()));
  }
  return dir;
}

std::string ControlPath(const std::string& name, uint32_t node) {
  return fmt::format("{}/{}-node{}.sock", RunDir(), name, node);
}

RunStateFile::RunStateFile(RunState s) : path_(RunStatePath(s.name)) {
  if (s.start_time == 0) s.start_time = ProcessStartTime(s.pid).value_or(0);
  const RunDirLock lock(RunDir());
  while (!CreateFileExclusive(path_, RunStateText(s), 0600)) {
    RunState old;
    try {
      old = ReadRunState(path_);
    } catch (const Error& e) {
      throw Error(fmt::format("{}; remove it if no VM named '{}' runs", e.what(), s.name));
    }
    if (RunStateAlive(old)) {
      throw Error(fmt::format(
          "a VM named '{}' is already running (ssictl up, pid {}; {}): stop it first ('ssictl "
          "down {}') or choose another --name",
          old.name, old.pid, path_, old.name));
    }
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      ThrowErrno(fmt::format("cannot remove {}, left by an ssictl that ended", path_));
    }
  }
}

RunStateFile::~RunStateFile() {
  std::error_code ec;
  fs::remove(path_, ec);
}

std::vector<RunState> RunningVms(std::vector<std::string>* problems) {
  std::vector<RunState> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(RunDir(), ec)) {
    if (e.path().extension() != ".json") continue;
    try {
      RunState s = ReadRunState(e.path().string());
      if (!RunStateAlive(s)) {
        fs::remove(e.path(), ec);  // left behind by an ssictl that was killed
        continue;
      }
      out.push_back(std::move(s));
    } catch (const Error& err) {
      if (problems != nullptr) problems->push_back(err.what());
    }
  }
  return out;
}

namespace {

std::vector<RunState> Select(const std::string& name) {
  if (!name.empty()) {
    CheckVmName(name);
    const std::string path = RunStatePath(name);
    std::error_code ec;
    if (fs::exists(fs::symlink_status(path, ec))) {
      RunState s = ReadRunState(path);
      if (RunStateAlive(s)) return {s};
      fs::remove(path, ec);
    }
    throw Error(fmt::format("no running VM named '{}' in {}", name, RunDir()));
  }
  std::vector<std::string> problems;
  std::vector<RunState> vms = RunningVms(&problems);
  for (const std::string& p : problems) std::fprintf(stderr, "ssictl: ignoring %s\n", p.c_str());
  if (vms.empty()) throw Error(fmt::format("no running ssivm VM (none recorded in {})", RunDir()));
  return vms;
}

}  // namespace

RunState SelectOneVm(const std::string& name) {
  std::vector<RunState> vms = Select(name);
  if (vms.size() == 1) return vms[0];
  std::string names;
  for (const RunState& vm : vms) names += (names.empty() ? "" : ", ") + vm.name;
  throw Error(fmt::format("{} VMs are running ({}): name the one you mean", vms.size(), names));
}

std::string NodeStatsHeader() {
  return fmt::format("{:<12} {:>8} {:>10} {:>10} {:>10} {:>10}", "vcpus", "exits", "rd-faults",
                     "wr-faults", "pages-in", "pages-out");
}

std::string NodeStatsColumns(const nlohmann::json& n) {
  std::string vcpus;
  const nlohmann::json& ids = Field(n, "vcpus");
  if (ids.is_array()) {
    for (const auto& v : ids) {
      if (v.is_number_unsigned())
        vcpus += (vcpus.empty() ? "" : ",") + std::to_string(v.get<uint64_t>());
    }
  }
  const nlohmann::json& d = Field(n, "dsm");
  return fmt::format("{:<12} {:>8} {:>10} {:>10} {:>10} {:>10}", vcpus, Count(n, "exits"),
                     Count(d, "read_faults"), Count(d, "write_faults"), Count(d, "pages_received"),
                     Count(d, "pages_sent"));
}

std::vector<std::string> NodeDetailLines(const nlohmann::json& n) {
  std::vector<std::string> lines;
  // A DSM node: the guest RAM it is home of and its cache budget.
  if (Field(n, "home_mib").is_number_unsigned() && Field(n, "cache_mib").is_number_unsigned()) {
    lines.push_back(
        fmt::format("memory: home of {} MiB of guest RAM, caches up to {} MiB of other "
                    "nodes' pages",
                    Count(n, "home_mib"), Count(n, "cache_mib")));
  }
  const nlohmann::json& latency = Field(Field(n, "dsm"), "fault_latency");
  if (latency.is_string()) lines.push_back("fault latency: " + latency.get<std::string>());
  std::string links;
  const nlohmann::json& all = Field(n, "links");
  if (all.is_array()) {
    for (const auto& l : all) {
      if (!l.is_object()) continue;
      const nlohmann::json& ago = Field(l, "heard_ms_ago");
      links += fmt::format("{}node {} heard {:.1f} s ago", links.empty() ? "links: " : ", ",
                           Count(l, "node"), ago.is_number() ? ago.get<double>() / 1000.0 : 0.0);
    }
  }
  if (!links.empty()) lines.push_back(links);
  // Which node each vCPU here pulled its pages from (placement's input).
  const nlohmann::json& pulled = Field(n, "vcpu_pages_from");
  if (pulled.is_array()) {
    for (const auto& v : pulled) {
      const nlohmann::json& from = Field(v, "pages_from");
      if (!from.is_object()) continue;
      std::string line;
      for (const auto& [node, pages] : from.items()) {
        if (!pages.is_number_unsigned()) continue;
        line +=
            fmt::format("{}{} from node {}", line.empty() ? "" : ", ", pages.get<uint64_t>(), node);
      }
      if (!line.empty())
        lines.push_back(fmt::format("vCPU {} pulled pages: {}", Count(v, "vcpu"), line));
    }
  }
  const std::vector<std::string> placement = PlacementLines(n);  // node 0's only
  lines.insert(lines.end(), placement.begin(), placement.end());
  return lines;
}

int Status(const std::string& name, bool json) {
  nlohmann::json all = nlohmann::json::array();
  for (const RunState& vm : Select(name)) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const std::string& sock : vm.control) {
      try {
        nodes.push_back(AskNode(sock, {{"cmd", "status"}}));
      } catch (const Error& e) {
        nodes.push_back({{"error", e.what()}});
      }
    }
    all.push_back({{"name", vm.name}, {"nodes", nodes}});
    if (json) continue;
    std::printf("VM %s: %zu node(s)\n", vm.name.c_str(), vm.control.size());
    std::printf("  %-4s %s\n", "node", NodeStatsHeader().c_str());
    for (size_t k = 0; k < nodes.size(); ++k) {
      const nlohmann::json& n = nodes[k];
      if (n.contains("error")) {
        std::printf("  %-4zu %s\n", k, n["error"].get<std::string>().c_str());
        continue;
      }
      std::printf("  %-4zu %s\n", k, NodeStatsColumns(n).c_str());
      for (const std::string& line : NodeDetailLines(n)) std::printf("       %s\n", line.c_str());
    }
  }
  if (json) std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

int Down(const std::string& name) {
  for (const RunState& vm : Select(name)) {
    // Node 0 stops the guest and tells the other nodes.
    AskNode(vm.control.at(0), {{"cmd", "stop"}});
    std::printf("ssictl: stopping VM %s\n", vm.name.c_str());
  }
  return 0;
}

}  // namespace ssivm

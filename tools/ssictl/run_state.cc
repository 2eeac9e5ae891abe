#include "tools/ssictl/run_state.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/node/control_client.h"

namespace ssivm {
namespace fs = std::filesystem;

std::string RunDir() {
  if (const char* env = std::getenv("SSIVM_RUN_DIR"); env != nullptr && *env != '\0') {
    std::error_code ec;
    fs::create_directories(env, ec);
    return env;
  }
  for (const std::string& dir : {::geteuid() == 0 ? std::string("/run/ssivm") : std::string(),
                                 fmt::format("/tmp/ssivm-{}", ::geteuid())}) {
    if (dir.empty()) continue;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (::access(dir.c_str(), W_OK) == 0) return dir;
  }
  throw Error(
      fmt::format("no writable run directory (tried /run/ssivm and /tmp/ssivm-{}; set "
                  "SSIVM_RUN_DIR)",
                  ::geteuid()));
}

std::string ControlPath(const std::string& name, uint32_t node) {
  return fmt::format("{}/{}-node{}.sock", RunDir(), name, node);
}

RunStateFile::RunStateFile(const RunState& s) : path_(RunDir() + "/" + s.name + ".json") {
  const nlohmann::json j = {{"name", s.name}, {"pid", s.pid}, {"control", s.control}};
  std::ofstream f(path_);
  f << j.dump(2) << "\n";
  if (!f) throw Error(fmt::format("cannot write {}", path_));
}

RunStateFile::~RunStateFile() {
  std::error_code ec;
  fs::remove(path_, ec);
}

std::vector<RunState> RunningVms() {
  std::vector<RunState> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(RunDir(), ec)) {
    if (e.path().extension() != ".json") continue;
    std::ifstream f(e.path());
    const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.contains("pid") || !j.contains("control")) continue;
    RunState s;
    s.name = j.value("name", e.path().stem().string());
    s.pid = j["pid"].get<int>();
    s.control = j["control"].get<std::vector<std::string>>();
    if (::kill(s.pid, 0) != 0 && errno == ESRCH) {
      fs::remove(e.path(), ec);  // left behind by an ssictl that was killed
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

std::vector<RunState> Select(const std::string& name) {
  std::vector<RunState> vms = RunningVms();
  if (!name.empty()) {
    std::erase_if(vms, [&](const RunState& s) { return s.name != name; });
    if (vms.empty()) throw Error(fmt::format("no running VM named '{}' in {}", name, RunDir()));
  } else if (vms.empty()) {
    throw Error(fmt::format("no running ssivm VM (none recorded in {})", RunDir()));
  }
  return vms;
}

}  // namespace

std::string NodeStatsHeader() {
  return fmt::format("{:<12} {:>8} {:>10} {:>10} {:>10} {:>10}", "vcpus", "exits", "rd-faults",
                     "wr-faults", "pages-in", "pages-out");
}

std::string NodeStatsColumns(const nlohmann::json& n) {
  std::string vcpus;
  for (const auto& v : n.value("vcpus", nlohmann::json::array())) {
    vcpus += (vcpus.empty() ? "" : ",") + std::to_string(v.get<int>());
  }
  const nlohmann::json d = n.value("dsm", nlohmann::json::object());
  return fmt::format("{:<12} {:>8} {:>10} {:>10} {:>10} {:>10}", vcpus, n.value("exits", 0ul),
                     d.value("read_faults", 0ul), d.value("write_faults", 0ul),
                     d.value("pages_received", 0ul), d.value("pages_sent", 0ul));
}

std::vector<std::string> NodeDetailLines(const nlohmann::json& n) {
  std::vector<std::string> lines;
  const nlohmann::json d = n.value("dsm", nlohmann::json::object());
  if (d.contains("fault_latency") && d["fault_latency"].is_string()) {
    lines.push_back("fault latency: " + d["fault_latency"].get<std::string>());
  }
  std::string links;
  for (const auto& l : n.value("links", nlohmann::json::array())) {
    if (!l.is_object()) continue;
    links += fmt::format("{}node {} heard {:.1f} s ago", links.empty() ? "links: " : ", ",
                         l.value("node", 0u), l.value("heard_ms_ago", 0.0) / 1000.0);
  }
  if (!links.empty()) lines.push_back(links);
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

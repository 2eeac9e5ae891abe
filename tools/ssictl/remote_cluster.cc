#include "tools/ssictl/remote_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/command.h"
#include "common/error.h"
#include "common/exit_status.h"
#include "tools/ssictl/cluster_hosts.h"
#include "tools/ssictl/cluster_plan.h"
#include "tools/ssictl/emulated_up.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kCommandTimeout = seconds(30);  // one ssh command
constexpr auto kStopTimeout = seconds(30);
constexpr auto kDetachTimeout = seconds(90);
constexpr auto kPollInterval = milliseconds(500);

std::atomic<int> g_stop_signal{0};

void OnStopSignal(int sig) {
  g_stop_signal = sig;
}

void PrintProblems(const std::string& what, const std::vector<std::string>& problems) {
  std::fprintf(stderr, "ssictl: %s:\n", what.c_str());
  for (const std::string& p : problems) std::fprintf(stderr, "  %s\n", p.c_str());
}

// Waits until no node listed in `pending` runs (dropping those that stopped),
// at most `timeout`.
void WaitUntilStopped(const ClusterHosts& c, std::vector<uint32_t>& pending,
                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kPollInterval);
    std::vector<NodeAnswer::Kind> kinds(pending.size(), NodeAnswer::kFailed);
    Parallel(pending.size(), [&](size_t i) { kinds[i] = c.Ask(pending[i], "status").kind; });
    std::vector<uint32_t> still;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (kinds[i] != NodeAnswer::kNotRunning) still.push_back(pending[i]);
    }
    pending = std::move(still);
  }
}

// What stopping left: nodes killed after the timeout, nodes still there.
struct StopResult {
  std::vector<uint32_t> killed;
  std::vector<uint32_t> left;
};

// Stops the `running` nodes: the device node first (it tells the others),
// then each one left, then kills what still runs.
StopResult StopNodes(const ClusterHosts& c, std::vector<uint32_t> running) {
  std::vector<uint32_t> pending = std::move(running);
  const uint32_t first = c.manifest().DeviceNodeId();
  if (std::find(pending.begin(), pending.end(), first) != pending.end()) {
    c.Ask(first, "stop");
    WaitUntilStopped(c, pending, seconds(5));
  }
  Parallel(pending.size(), [&](size_t i) { c.Ask(pending[i], "stop"); });
  WaitUntilStopped(c, pending, kStopTimeout);
  StopResult result;
  for (uint32_t n : pending) (c.Kill(n) ? result.killed : result.left).push_back(n);
  return result;
}

std::vector<NodeState> States(const ClusterHosts& c, const std::vector<NodeAnswer>& answers) {
  std::vector<NodeState> states;
  for (size_t i = 0; i < answers.size(); ++i) {
    const uint32_t id = c.manifest().nodes[i].id;
    NodeState s{id, c.SiteOf(id).plan.host, answers[i].kind == NodeAnswer::kRunning, {}};
    if (s.running && answers[i].status.contains("epoch")) {
      s.epoch = answers[i].status["epoch"].get<uint64_t>();
    }
    states.push_back(s);
  }
  return states;
}

// Where the nodes run when they all run on this machine (another host has
// KVM of its own: a node there runs on it).
std::optional<EmulatedUp> EmulatedUpOf(const ClusterHosts& c, const RemoteOptions& opt) {
  const provision::ClusterManifest& m = c.manifest();
  const bool all_local =
      std::all_of(c.sites().begin(), c.sites().end(), [](const Site& s) { return s.host.local(); });
  if (!all_local) {
    if (opt.kvm == "emulated") {
      throw Error(
          fmt::format("--kvm emulated runs the nodes of a manifest only when all of them "
                      "are on this machine; {} names other hosts",
                      opt.manifest));
    }
    return std::nullopt;  // each host's own KVM (the prerequisite checks ask for it)
  }
  EmulatedUp em;
  em.kvm = opt.kvm;
  em.vcpus = m.guest.vcpus_total;
  em.guest_mib = m.TotalMemoryMib();
  em.nodes = static_cast<uint32_t>(m.nodes.size());
  em.needs_hardware = IsLinuxKernel(c.LocalKernel());
  for (const provision::Node& n : m.nodes) em.control.push_back(c.SiteOf(n.id).files.control(n.id));
  em.console_socket = ConsoleSocket(opt.console);
  em.detach = opt.detach;
  em.log = RunDir() + "/" + m.cluster_id + ".emulated.log";
  em.check = {c.LocalSsivm(),
              "--kernel",
              c.LocalKernel(),
              "--vcpus",
              std::to_string(em.vcpus),
              "--memory",
              std::to_string(em.guest_mib),
              "--cmdline",
              m.guest.cmdline};
  if (!c.LocalInitrd().empty()) em.check.insert(em.check.end(), {"--initrd", c.LocalInitrd()});
  return em;
}

// Starts every node detached and waits until all answer.
int UpDetached(const ClusterHosts& c, const RemoteOptions& opt) {
  const provision::ClusterManifest& m = c.manifest();
  std::vector<std::string> problems;
  const std::vector<std::string> errors = Parallel(m.nodes.size(), [&](size_t i) {
    const uint32_t id = m.nodes[i].id;
    const Site& s = c.SiteOf(id);
    const std::string console =
        id == m.DeviceNodeId() && opt.console != "stdio" ? opt.console : "none";
    const std::string start = StartCommand(s.ssivm, s.files, id, console, true, opt.placement);
    const CapturedRun r = s.host.Run(start, kCommandTimeout);
    if (r.exit_code != 0 || r.timed_out) {
      throw Error(s.host.Failure(r, fmt::format("starting node {}", id), start));
    }
  });
  for (const std::string& e : errors) {
    if (!e.empty()) problems.push_back(e);
  }
  const auto deadline = std::chrono::steady_clock::now() + kDetachTimeout;
  std::vector<NodeAnswer> answers;
  while (problems.empty()) {
    answers = c.AskAll("status");
    if (std::all_of(answers.begin(), answers.end(),
                    [](const NodeAnswer& a) { return a.kind == NodeAnswer::kRunning; })) {
      std::printf("ssictl: cluster %s (epoch %lu) is running: %zu nodes", m.cluster_id.c_str(),
                  m.epoch, m.nodes.size());
      for (const Site& s : c.sites()) {
        std::printf("%s %s in %s", &s == &c.sites().front() ? ";" : ",", s.plan.host.c_str(),
                    s.files.dir.c_str());
      }
      std::printf("\n");
      return 0;
    }
    // A node that does not answer yet must at least still live.
    std::vector<char> dead(answers.size(), 0);
    Parallel(answers.size(), [&](size_t i) {
      dead[i] =
          static_cast<char>(answers[i].kind != NodeAnswer::kRunning && c.Exited(m.nodes[i].id));
    });
    const bool late = std::chrono::steady_clock::now() > deadline;
    if (late || std::find(dead.begin(), dead.end(), 1) != dead.end()) {
      for (size_t i = 0; i < answers.size(); ++i) {
        if (answers[i].kind == NodeAnswer::kRunning || !(late || dead[i])) continue;
        const uint32_t id = m.nodes[i].id;
        const Site& s = c.SiteOf(id);
        const CapturedRun log =
            s.host.Run("tail -n 5 " + ShellQuote(s.files.log(id)), kCommandTimeout);
        problems.push_back(
            fmt::format("{}: {}{}{}", c.NodeLabel(id),
                        dead[i] ? "exited"
                                : fmt::format("{} after {} s", NodeAnswerName(answers[i].kind),
                                              kDetachTimeout.count()),
                        log.out.empty() ? "" : "; its log ends: ", Excerpt(log.out)));
      }
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  PrintProblems(fmt::format("cluster {} did not start; stopping what did", m.cluster_id), problems);
  StopNodes(c, c.NodeIds());
  return kExitVmmError;
}

// The local processes running the nodes (ssh clients, or the node processes
// of localhost nodes). Whatever still runs when this goes away is killed and
// reaped; pids of processes already reaped are -1.
struct NodeClients {
  std::vector<pid_t> pids;
  NodeClients() = default;
  NodeClients(const NodeClients&) = delete;
  NodeClients& operator=(const NodeClients&) = delete;
  ~NodeClients() {
    for (pid_t p : pids) {
      if (p <= 0) continue;
      ::kill(p, SIGKILL);
      try {
        WaitExitStatusFor(p, kStopTimeout);
      } catch (const Error&) {  // already gone
      }
    }
  }
};

// Starts every node in the foreground (the device node on this terminal) and
// waits.
int UpForeground(const ClusterHosts& c, const RemoteOptions& opt) {
  const provision::ClusterManifest& m = c.manifest();
  const bool terminal = ::isatty(STDIN_FILENO) == 1 && opt.console == "stdio";
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM}) ::sigaction(sig, &sa, nullptr);
  // A hangup stops the cluster only if it took the console away (the device
  // node's console is this terminal); otherwise the guest goes on.
  if (!terminal) sa.sa_handler = SIG_IGN;
  ::sigaction(SIGHUP, &sa, nullptr);
  NodeClients clients;
  std::vector<pid_t>& pids = clients.pids;
  try {
    for (const provision::Node& n : m.nodes) {
      const Site& s = c.SiteOf(n.id);
      const bool console_node = n.id == m.DeviceNodeId();
      const std::vector<std::string> argv =
          s.host.Argv(StartCommand(s.ssivm, s.files, n.id, console_node ? opt.console : "none",
                                   false, opt.placement),
                      console_node && terminal);
      // Only the console node stays in the terminal's process group (it
      // reads the terminal); the others are stopped through their control
      // sockets.
      SpawnStdio stdio = console_node ? SpawnStdio{} : SpawnStdio{kDevNull, kDevNull, kInherit};
      stdio.own_process_group = !(console_node && terminal);
      // In the foreground they end with this process, however it ends (an
      // ssh client ending closes its remote node's session).
      stdio.die_with_parent = true;
      pids.push_back(Spawn(argv, stdio));
    }
  } catch (const Error&) {
    StopNodes(c, c.NodeIds());  // the ones already started
    throw;
  }
  const size_t console_index =
      std::find_if(m.nodes.begin(), m.nodes.end(),
                   [&m](const auto& n) { return n.id == m.DeviceNodeId(); }) -
      m.nodes.begin();
  std::optional<int> status;
  std::optional<std::chrono::steady_clock::time_point> stop_asked;
  std::jthread stopper;  // joined when it goes out of scope
  while (!status) {
    status = WaitExitStatusFor(pids[console_index], milliseconds(200));
    if (status) break;
    if (g_stop_signal != 0 && !stop_asked) {
      std::fprintf(stderr, "ssictl: signal %d: stopping cluster %s\n", g_stop_signal.load(),
                   m.cluster_id.c_str());
      stop_asked = std::chrono::steady_clock::now();
      stopper = std::jthread([&c] { StopNodes(c, c.NodeIds()); });
    }
    if (stop_asked && std::chrono::steady_clock::now() - *stop_asked > 2 * kStopTimeout) {
      for (pid_t p : pids) {
        if (p > 0) ::kill(p, SIGKILL);
      }
    }
  }
  pids[console_index] = -1;
  for (size_t i = 0; i < pids.size(); ++i) {
    if (pids[i] < 0) continue;
    if (WaitExitStatusFor(pids[i], kStopTimeout)) {
      pids[i] = -1;
      continue;
    }
    std::fprintf(stderr, "ssictl: %s did not stop; killing it\n",
                 c.NodeLabel(m.nodes[i].id).c_str());
    c.Kill(m.nodes[i].id);
  }
  if (stopper.joinable()) stopper.join();
  c.RemoveLocalFiles();
  const uint32_t console_id = m.DeviceNodeId();
  if (*status == kSshFailed && !c.SiteOf(console_id).host.local()) {
    std::fprintf(stderr, "ssictl: ssh to %s (node %u) failed or lost its connection (status 255)\n",
                 c.SiteOf(console_id).plan.host.c_str(), console_id);
  }
  return *status;
}

}  // namespace

int UpManifest(const RemoteOptions& opt) {
  ClusterHosts c(opt.manifest, opt.access);
  const provision::ClusterManifest& m = c.manifest();
  if (const std::optional<EmulatedUp> em = EmulatedUpOf(c, opt)) {
    if (auto status = UpEmulatedIfNeeded(*em)) return *status;
  }
  if (const std::vector<std::string> problems = c.CheckHosts(); !problems.empty()) {
    PrintProblems(fmt::format("cannot start cluster {}: {} problem(s); nothing was started",
                              m.cluster_id, problems.size()),
                  problems);
    return kExitVmmError;
  }
  const std::vector<NodeAnswer> answers = c.AskAll("status");
  std::vector<std::string> problems;
  for (const auto& answer : answers) {
    if (answer.kind == NodeAnswer::kUnreachable || answer.kind == NodeAnswer::kFailed) {
      problems.push_back(answer.problem);
    }
  }
  if (!problems.empty()) {
    PrintProblems(fmt::format("cannot tell whether cluster {} already runs; nothing was started",
                              m.cluster_id),
                  problems);
    return kExitVmmError;
  }
  const UpDecision decision = DecideUp(m, States(c, answers));
  if (decision.kind == UpDecision::kAlreadyRunning) {
    std::printf("ssictl: %s\n", decision.message.c_str());
    return opt.detach ? 0 : 1;
  }
  if (decision.kind == UpDecision::kRefuse) {
    std::fprintf(stderr, "ssictl: %s\n", decision.message.c_str());
    return 1;
  }
  c.Push();
  return opt.detach ? UpDetached(c, opt) : UpForeground(c, opt);
}

int StatusManifest(const RemoteOptions& opt) {
  const ClusterHosts c(opt.manifest, opt.access);
  const provision::ClusterManifest& m = c.manifest();
  const std::vector<NodeAnswer> answers = c.AskAll("status");
  bool all_running = true;
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t i = 0; i < answers.size(); ++i) {
    const provision::Node& n = m.nodes[i];
    const NodeAnswer& a = answers[i];
    all_running = all_running && a.kind == NodeAnswer::kRunning;
    nlohmann::json j = {
        {"id", n.id}, {"name", n.name}, {"host", n.host}, {"state", NodeAnswerName(a.kind)}};
    if (a.kind == NodeAnswer::kRunning) j["status"] = a.status;
    if (!a.problem.empty()) j["problem"] = a.problem;
    nodes.push_back(j);
  }
  if (opt.json) {
    const nlohmann::json all = {{"cluster_id", m.cluster_id}, {"epoch", m.epoch}, {"nodes", nodes}};
    std::printf("%s\n", all.dump(2).c_str());
    return all_running ? 0 : 1;
  }
  std::printf("cluster %s (manifest %s, epoch %lu): %zu node(s)\n", m.cluster_id.c_str(),
              opt.manifest.c_str(), m.epoch, m.nodes.size());
  std::printf("  %-4s %-12s %-16s %-12s %s\n", "node", "name", "host", "state",
              NodeStatsHeader().c_str());
  for (size_t i = 0; i < answers.size(); ++i) {
    const provision::Node& n = m.nodes[i];
    const NodeAnswer& a = answers[i];
    std::printf("  %-4u %-12s %-16s %-12s %s\n", n.id, n.name.c_str(), n.host.c_str(),
                NodeAnswerName(a.kind),
                a.kind == NodeAnswer::kRunning ? NodeStatsColumns(a.status).c_str() : "");
    if (!a.problem.empty()) std::printf("       %s\n", a.problem.c_str());
    if (a.kind == NodeAnswer::kRunning) {
      for (const std::string& line : NodeDetailLines(a.status)) {
        std::printf("       %s\n", line.c_str());
      }
    }
  }
  return all_running ? 0 : 1;
}

int DownManifest(const RemoteOptions& opt) {
  const ClusterHosts c(opt.manifest, opt.access);
  const provision::ClusterManifest& m = c.manifest();
  const std::vector<NodeAnswer> first = c.AskAll("status");
  std::vector<uint32_t> running;
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i].kind == NodeAnswer::kRunning) running.push_back(m.nodes[i].id);
  }
  const StopResult stopped = StopNodes(c, running);
  const std::vector<uint32_t>& killed = stopped.killed;
  const std::vector<uint32_t>& left = stopped.left;
  std::printf("cluster %s (epoch %lu):\n", m.cluster_id.c_str(), m.epoch);
  bool ok = true;
  for (size_t i = 0; i < first.size(); ++i) {
    const uint32_t id = m.nodes[i].id;
    std::string what;
    if (first[i].kind == NodeAnswer::kNotRunning) {
      what = "was not running";
    } else if (first[i].kind != NodeAnswer::kRunning) {
      what = first[i].problem;
      ok = false;
    } else if (std::find(killed.begin(), killed.end(), id) != killed.end()) {
      what = fmt::format("did not stop within {} s; killed", kStopTimeout.count());
    } else if (std::find(left.begin(), left.end(), id) != left.end()) {
      what = "did not stop and could not be killed";
      ok = false;
    } else {
      what = "stopped";
    }
    std::printf("  %s: %s\n", c.NodeLabel(id).c_str(), what.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace ssivm

#include "tools/ssictl/remote_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/command.h"
#include "common/error.h"
#include "tools/ssictl/cluster_plan.h"
#include "tools/ssictl/locate.h"
#include "tools/ssictl/prerequisites.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kExitProblems = 125;   // up: could not start (as a VMM that cannot start)
constexpr int kQueryNotRunning = 3;  // ssivm --query: no node listens
constexpr auto kQueryTimeout = seconds(30);
constexpr auto kStopTimeout = seconds(30);
constexpr auto kDetachTimeout = seconds(90);
constexpr auto kPollInterval = milliseconds(500);

std::atomic<int> g_stop_signal{0};

void OnStopSignal(int sig) {
  g_stop_signal = sig;
}

// Runs fn(i) for i in [0, n) on n threads; an Error escaping fn(i) becomes
// errors[i].
std::vector<std::string> Parallel(size_t n, const std::function<void(size_t)>& fn) {
  std::vector<std::string> errors(n);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      try {
        fn(i);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return errors;
}

// One host of the manifest, as reached from here.
struct Site {
  PlannedHost plan;
  RemoteHost host;
  HostFiles files;
  std::string ssivm;  // the node binary there
};

// A node's answer to a control query.
struct NodeAnswer {
  enum Kind { kRunning, kNotRunning, kUnreachable, kFailed };
  Kind kind = kFailed;
  nlohmann::json status;  // the node's JSON answer when running
  std::string problem;    // why there is no answer
};

const char* KindName(NodeAnswer::Kind k) {
  switch (k) {
    case NodeAnswer::kRunning:
      return "running";
    case NodeAnswer::kNotRunning:
      return "not running";
    case NodeAnswer::kUnreachable:
      return "unreachable";
    case NodeAnswer::kFailed:
      break;
  }
  return "error";
}

class ManifestCluster {
 public:
  explicit ManifestCluster(const RemoteOptions& opt)
      : opt_(opt), manifest_(provision::Load(opt.manifest)) {
    for (const PlannedHost& p : GroupByHost(manifest_)) {
      RemoteHost host(p.host, opt.ssh);
      std::string dir = opt.remote_dir;
      if (dir.empty()) {
        dir = host.local() ? RunDir() + "/" + manifest_.cluster_id
                           : DefaultRemoteDir(manifest_.cluster_id);
      }
      const std::string ssivm = host.local() ? LocalSsivm() : opt.remote_ssivm;
      sites_.push_back({p, std::move(host), HostFiles{dir}, ssivm});
    }
  }

  const provision::ClusterManifest& manifest() const { return manifest_; }
  const std::vector<Site>& sites() const { return sites_; }

  const Site& SiteOf(uint32_t node) const {
    for (const Site& s : sites_) {
      if (std::find(s.plan.nodes.begin(), s.plan.nodes.end(), node) != s.plan.nodes.end()) return s;
    }
    throw Error(fmt::format("node {} is not in the manifest", node));
  }

  std::string NodeLabel(uint32_t node) const {
    const provision::Node* n = manifest_.FindNode(node);
    return fmt::format("node {} ({}) on {}", node, n ? n->name : "?", SiteOf(node).plan.host);
  }

  std::string LocalSsivm() {
    if (local_ssivm_.empty()) {
      local_ssivm_ = opt_.ssivm.empty() ? Locate("hypervisor/ssivm", "SSIVM_BIN") : opt_.ssivm;
      local_ssivm_ = fs::absolute(local_ssivm_).string();
    }
    return local_ssivm_;
  }

  // The guest image on this machine, which every remote host gets a copy of.
  std::string LocalImage(const std::string& path) const {
    return path.empty() ? "" : fs::absolute(path).string();
  }
  std::string LocalKernel() const {
    return LocalImage(manifest_.guest.kernel.empty() ? Locate("guest/kernel", "SSIVM_KERNEL")
                                                     : manifest_.guest.kernel);
  }

  // Probes every host at once; every problem as "host H: problem" (and the
  // guest image here, which the hosts get copies of).
  std::vector<std::string> CheckHosts() {
    std::vector<std::string> problems;
    for (const auto& [key, path] :
         {std::pair<std::string, std::string>{"guest.kernel", LocalKernel()},
          {"guest.initrd", LocalImage(manifest_.guest.initrd)}}) {
      if (!path.empty() && ::access(path.c_str(), R_OK) != 0) {
        problems.push_back(fmt::format("this machine: {} {}: {}", key, path, ErrnoText(errno)));
      }
    }
    const std::string ssivm = LocalSsivm();
    const CapturedRun v = RunCapture({ssivm, "--version"}, kQueryTimeout);
    if (v.exit_code != 0) throw Error(fmt::format("'{} --version' failed: {}", ssivm, v.err));
    const std::string version = Excerpt(v.out, 1);
    std::vector<std::vector<std::string>> found(sites_.size());
    const std::vector<std::string> errors = Parallel(sites_.size(), [&](size_t i) {
      const Site& s = sites_[i];
      const CapturedRun r = s.host.Run(ProbeScript(s.ssivm), kQueryTimeout);
      if (r.exit_code != 0 || r.timed_out) {
        throw Error(s.host.Failure(r, "checking its prerequisites"));
      }
      for (const std::string& p :
           FindProblems(ParseProbe(r.out), {s.plan.memory_mib, s.ssivm, version})) {
        found[i].push_back(fmt::format("host {}: {}", s.plan.host, p));
      }
    });
    for (size_t i = 0; i < sites_.size(); ++i) {
      if (!errors[i].empty()) problems.push_back(errors[i]);
      problems.insert(problems.end(), found[i].begin(), found[i].end());
    }
    return problems;
  }

  NodeAnswer Ask(uint32_t node, const std::string& cmd) const {
    const Site& s = SiteOf(node);
    const CapturedRun r = s.host.Run(QueryCommand(s.ssivm, s.files, node, cmd), kQueryTimeout);
    NodeAnswer a;
    if (r.exit_code == 0 && !r.timed_out) {
      a.status = nlohmann::json::parse(Excerpt(r.out, 1), nullptr, false);
      if (!a.status.is_discarded()) {
        a.kind = NodeAnswer::kRunning;
        return a;
      }
      a.problem = fmt::format("host {}: node {} answered something that is not JSON: {}",
                              s.plan.host, node, Excerpt(r.out, 2));
      return a;
    }
    if (r.exit_code == kQueryNotRunning && !r.timed_out) {
      a.kind = NodeAnswer::kNotRunning;
      return a;
    }
    a.kind = !s.host.local() && r.exit_code == kSshFailed ? NodeAnswer::kUnreachable
                                                          : NodeAnswer::kFailed;
    a.problem = s.host.Failure(r, fmt::format("asking node {} ({})", node, cmd));
    return a;
  }

  // Asks every node (in parallel); answers indexed like manifest().nodes.
  std::vector<NodeAnswer> AskAll(const std::string& cmd) const {
    std::vector<NodeAnswer> answers(manifest_.nodes.size());
    const std::vector<std::string> errors =
        Parallel(answers.size(), [&](size_t i) { answers[i] = Ask(manifest_.nodes[i].id, cmd); });
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!errors[i].empty()) answers[i] = {NodeAnswer::kFailed, {}, errors[i]};
    }
    return answers;
  }

  // Writes each host's manifest and copies the guest image there. Throws
  // Error listing every host that failed.
  void Push() {
    provision::ClusterManifest local = manifest_;
    local.guest.kernel =
        fs::absolute(manifest_.guest.kernel.empty() ? Locate("guest/kernel", "SSIVM_KERNEL")
                                                    : manifest_.guest.kernel)
            .string();
    if (!local.guest.initrd.empty()) local.guest.initrd = fs::absolute(local.guest.initrd).string();
    const fs::path staging = fs::temp_directory_path() / fmt::format("ssictl-push-{}", ::getpid());
    fs::create_directories(staging);
    for (const Site& s : sites_) {  // one after the other: they may share the directory
      if (!s.host.local()) continue;
      fs::create_directories(s.files.dir);
      provision::Save(local, s.files.manifest());
    }
    const std::vector<std::string> errors = Parallel(sites_.size(), [&](size_t i) {
      const Site& s = sites_[i];
      if (s.host.local()) return;
      const std::string copy = (staging / fmt::format("cluster-{}.toml", i)).string();
      provision::Save(PushedManifest(manifest_, s.files), copy);
      s.host.Push(local.guest.kernel, s.files.kernel());
      if (!local.guest.initrd.empty()) s.host.Push(local.guest.initrd, s.files.initrd());
      s.host.Push(copy, s.files.manifest());
    });
    std::error_code ec;
    fs::remove_all(staging, ec);
    std::string failed;
    for (const std::string& e : errors) {
      if (!e.empty()) failed += "\n  " + e;
    }
    if (!failed.empty()) throw Error("pushing the manifest and the guest image failed:" + failed);
  }

  // Kills whatever is left of a node (pid file); true if something was killed.
  bool Kill(uint32_t node) const {
    const Site& s = SiteOf(node);
    const CapturedRun r = s.host.Run(KillCommand(s.files, node), kQueryTimeout);
    return r.exit_code == 0 && r.out.find("killed") != std::string::npos;
  }

 private:
  const RemoteOptions& opt_;
  provision::ClusterManifest manifest_;
  std::vector<Site> sites_;
  std::string local_ssivm_;
};

void PrintProblems(const std::string& what, const std::vector<std::string>& problems) {
  std::fprintf(stderr, "ssictl: %s:\n", what.c_str());
  for (const std::string& p : problems) std::fprintf(stderr, "  %s\n", p.c_str());
}

// Waits until no node listed in `pending` runs (dropping those that stopped),
// at most `timeout`.
void WaitUntilStopped(const ManifestCluster& c, std::vector<uint32_t>& pending,
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

// Stops the `running` nodes: node 0 first (it tells the others), then each
// one left, then kills what still runs.
StopResult StopNodes(const ManifestCluster& c, std::vector<uint32_t> running) {
  std::vector<uint32_t> pending = running;
  if (std::find(pending.begin(), pending.end(), 0) != pending.end()) {
    c.Ask(0, "stop");
    WaitUntilStopped(c, pending, seconds(5));
  }
  Parallel(pending.size(), [&](size_t i) { c.Ask(pending[i], "stop"); });
  WaitUntilStopped(c, pending, kStopTimeout);
  StopResult result;
  for (uint32_t n : pending) (c.Kill(n) ? result.killed : result.left).push_back(n);
  return result;
}

std::vector<uint32_t> AllNodes(const ManifestCluster& c) {
  std::vector<uint32_t> ids;
  for (const provision::Node& n : c.manifest().nodes) ids.push_back(n.id);
  return ids;
}

std::vector<NodeState> States(const ManifestCluster& c, const std::vector<NodeAnswer>& answers) {
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

// Starts every node detached and waits until all answer.
int UpDetached(const ManifestCluster& c, const RemoteOptions& opt) {
  const provision::ClusterManifest& m = c.manifest();
  std::vector<std::string> problems;
  const std::vector<std::string> errors = Parallel(m.nodes.size(), [&](size_t i) {
    const uint32_t id = m.nodes[i].id;
    const Site& s = c.SiteOf(id);
    const std::string console = id == 0 && opt.console != "stdio" ? opt.console : "none";
    const CapturedRun r =
        s.host.Run(StartCommand(s.ssivm, s.files, id, console, true), kQueryTimeout);
    if (r.exit_code != 0 || r.timed_out) {
      throw Error(s.host.Failure(r, fmt::format("starting node {}", id)));
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
    if (std::chrono::steady_clock::now() > deadline) {
      for (size_t i = 0; i < answers.size(); ++i) {
        if (answers[i].kind == NodeAnswer::kRunning) continue;
        const uint32_t id = m.nodes[i].id;
        const Site& s = c.SiteOf(id);
        const CapturedRun log =
            s.host.Run("tail -n 5 " + ShellQuote(s.files.log(id)), kQueryTimeout);
        problems.push_back(fmt::format(
            "{}: {} after {} s{}{}", c.NodeLabel(id), KindName(answers[i].kind),
            kDetachTimeout.count(), log.out.empty() ? "" : "; its log ends: ", Excerpt(log.out)));
      }
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  PrintProblems(fmt::format("cluster {} did not start; stopping what did", m.cluster_id), problems);
  StopNodes(c, AllNodes(c));
  return kExitProblems;
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

// Starts every node in the foreground (node 0 on this terminal) and waits.
int UpForeground(const ManifestCluster& c, const RemoteOptions& opt) {
  const provision::ClusterManifest& m = c.manifest();
  const bool terminal = ::isatty(STDIN_FILENO) == 1 && opt.console == "stdio";
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  NodeClients clients;
  std::vector<pid_t>& pids = clients.pids;
  try {
    for (const provision::Node& n : m.nodes) {
      const Site& s = c.SiteOf(n.id);
      const bool console_node = n.id == 0;
      const std::vector<std::string> argv = s.host.Argv(
          StartCommand(s.ssivm, s.files, n.id, console_node ? opt.console : "none", false),
          console_node && terminal);
      // Only the console node stays in the terminal's process group (it
      // reads the terminal); the others are stopped through their control
      // sockets.
      SpawnStdio stdio = console_node ? SpawnStdio{} : SpawnStdio{kDevNull, kDevNull, kInherit};
      stdio.own_process_group = !(console_node && terminal);
      pids.push_back(Spawn(argv, stdio));
    }
  } catch (const Error&) {
    StopNodes(c, AllNodes(c));  // the ones already started
    throw;
  }
  const size_t console_index =
      std::find_if(m.nodes.begin(), m.nodes.end(), [](const auto& n) { return n.id == 0; }) -
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
      stopper = std::jthread([&c] { StopNodes(c, AllNodes(c)); });
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
  if (*status == kSshFailed && !c.SiteOf(0).host.local()) {
    std::fprintf(stderr, "ssictl: ssh to %s (node 0) failed or lost its connection (status 255)\n",
                 c.SiteOf(0).plan.host.c_str());
  }
  return *status;
}

}  // namespace

int UpManifest(const RemoteOptions& opt) {
  ManifestCluster c(opt);
  const provision::ClusterManifest& m = c.manifest();
  if (const std::vector<std::string> problems = c.CheckHosts(); !problems.empty()) {
    PrintProblems(fmt::format("cannot start cluster {}: {} problem(s); nothing was started",
                              m.cluster_id, problems.size()),
                  problems);
    return kExitProblems;
  }
  const std::vector<NodeAnswer> answers = c.AskAll("status");
  std::vector<std::string> problems;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].kind == NodeAnswer::kUnreachable || answers[i].kind == NodeAnswer::kFailed) {
      problems.push_back(answers[i].problem);
    }
  }
  if (!problems.empty()) {
    PrintProblems(fmt::format("cannot tell whether cluster {} already runs; nothing was started",
                              m.cluster_id),
                  problems);
    return kExitProblems;
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
  const ManifestCluster c(opt);
  const provision::ClusterManifest& m = c.manifest();
  const std::vector<NodeAnswer> answers = c.AskAll("status");
  bool all_running = true;
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t i = 0; i < answers.size(); ++i) {
    const provision::Node& n = m.nodes[i];
    const NodeAnswer& a = answers[i];
    all_running = all_running && a.kind == NodeAnswer::kRunning;
    nlohmann::json j = {
        {"id", n.id}, {"name", n.name}, {"host", n.host}, {"state", KindName(a.kind)}};
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
                KindName(a.kind),
                a.kind == NodeAnswer::kRunning ? NodeStatsColumns(a.status).c_str() : "");
    if (!a.problem.empty()) std::printf("       %s\n", a.problem.c_str());
    if (a.kind == NodeAnswer::kRunning) {
      if (const std::string latency = NodeLatencyLine(a.status); !latency.empty()) {
        std::printf("       %s\n", latency.c_str());
      }
    }
  }
  return all_running ? 0 : 1;
}

int DownManifest(const RemoteOptions& opt) {
  const ManifestCluster c(opt);
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

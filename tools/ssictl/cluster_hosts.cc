#include "tools/ssictl/cluster_hosts.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "common/file.h"
#include "common/temp_dir.h"
#include "hypervisor/node/control_client.h"
#include "provision/manifest/secret.h"
#include "tools/ssictl/locate.h"
#include "tools/ssictl/prerequisites.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

namespace fs = std::filesystem;

constexpr auto kCommandTimeout = std::chrono::seconds(30);
constexpr int kQueryFailed = 1;      // ssivm --query: no answer, or an {"error": ...} one
constexpr int kQueryNotRunning = 3;  // ssivm --query: no node listens there

std::string Absolute(const std::string& path) {
  return path.empty() ? "" : fs::absolute(path).string();
}

}  // namespace

const char* NodeAnswerName(NodeAnswer::Kind kind) {
  switch (kind) {
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

std::vector<std::string> Parallel(size_t n, const std::function<void(size_t)>& fn) {
  std::vector<std::string> errors(n);
  std::vector<std::jthread> threads;
  for (size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      try {
        fn(i);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  threads.clear();  // joins
  return errors;
}

ClusterHosts::ClusterHosts(const std::string& manifest, const HostAccess& access)
    : manifest_path_(manifest),
      manifest_(provision::Load(manifest)),
      remote_dir_given_(!access.remote_dir.empty()),
      local_ssivm_(
          Absolute(access.ssivm.empty() ? Locate("hypervisor/ssivm", "SSIVM_BIN") : access.ssivm)) {
  for (const PlannedHost& p : GroupByHost(manifest_)) {
    RemoteHost host(p.host, access.ssh);
    std::string dir = access.remote_dir;
    if (dir.empty()) {
      dir = host.local() ? RunDir() + "/" + manifest_.cluster_id
                         : DefaultRemoteDir(manifest_.cluster_id);
    }
    const std::string ssivm = host.local() ? local_ssivm_ : access.remote_ssivm;
    sites_.push_back({p, std::move(host), HostFiles{dir}, ssivm});
  }
}

void ClusterHosts::RemoveLocalFiles() const {
  if (remote_dir_given_) return;
  const fs::path manifest = fs::absolute(manifest_path_).lexically_normal();
  for (const Site& s : sites_) {
    if (!s.host.local()) continue;
    const fs::path dir = fs::absolute(s.files.dir).lexically_normal();
    const auto [end, _] = std::mismatch(dir.begin(), dir.end(), manifest.begin(), manifest.end());
    if (end == dir.end()) continue;  // the manifest is in there
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

const Site& ClusterHosts::SiteOf(uint32_t node) const {
  for (const Site& s : sites_) {
    if (std::find(s.plan.nodes.begin(), s.plan.nodes.end(), node) != s.plan.nodes.end()) return s;
  }
  throw Error(fmt::format("node {} is not in the manifest", node));
}

std::vector<uint32_t> ClusterHosts::NodeIds() const {
  std::vector<uint32_t> ids;
  for (const provision::Node& n : manifest_.nodes) ids.push_back(n.id);
  return ids;
}

std::string ClusterHosts::NodeLabel(uint32_t node) const {
  const provision::Node* n = manifest_.FindNode(node);
  return fmt::format("node {} ({}) on {}", node, n ? n->name : "?", SiteOf(node).plan.host);
}

std::string ClusterHosts::LocalKernel() const {
  return Absolute(manifest_.guest.kernel.empty() ? Locate("guest/kernel", "SSIVM_KERNEL")
                                                 : manifest_.guest.kernel);
}

std::string ClusterHosts::LocalInitrd() const {
  return Absolute(manifest_.guest.initrd);
}

std::vector<std::string> ClusterHosts::CheckHosts() const {
  std::vector<std::string> problems;
  for (const auto& [key, path] :
       {std::pair<std::string, std::string>{"guest.kernel", LocalKernel()},
        {"guest.initrd", LocalInitrd()}}) {
    if (!path.empty() && ::access(path.c_str(), R_OK) != 0) {
      problems.push_back(fmt::format("this machine: {} {}: {}", key, path, ErrnoText(errno)));
    }
  }
  const CapturedRun v = RunCapture({local_ssivm_, "--version"}, kCommandTimeout);
  if (v.exit_code != 0) {
    throw Error(fmt::format("'{} --version' failed (exit {}): {}", local_ssivm_, v.exit_code,
                            Excerpt(v.err)));
  }
  const std::string version = Excerpt(v.out, 1);
  std::vector<std::vector<std::string>> found(sites_.size());
  const std::vector<std::string> errors = Parallel(sites_.size(), [&](size_t i) {
    const Site& s = sites_[i];
    const CapturedRun r = s.host.Run(ProbeScript(s.ssivm), kCommandTimeout);
    if (r.exit_code != 0 || r.timed_out)
      throw Error(s.host.Failure(r, "checking its prerequisites"));
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

NodeAnswer ClusterHosts::Ask(uint32_t node, const std::string& cmd) const {
  return Query(node, cmd, kCommandTimeout);
}

NodeAnswer ClusterHosts::Request(uint32_t node, const nlohmann::json& request,
                                 std::chrono::milliseconds timeout) const {
  return Query(node, request.dump(), timeout);
}

NodeAnswer ClusterHosts::Query(uint32_t node, const std::string& query_arg,
                               std::chrono::milliseconds timeout) const {
  const Site& s = SiteOf(node);
  const std::string query = QueryCommand(s.ssivm, s.files, node, query_arg);
  const CapturedRun r = s.host.Run(query, timeout);
  NodeAnswer a;
  if (!r.timed_out && r.exit_code == kQueryNotRunning) {
    a.kind = NodeAnswer::kNotRunning;
    return a;
  }
  // ssivm --query prints the node's answer, and fails if it is an error.
  if (!r.timed_out && (r.exit_code == 0 || r.exit_code == kQueryFailed)) {
    const nlohmann::json answer = nlohmann::json::parse(Excerpt(r.out, 1), nullptr, false);
    if (r.exit_code == 0 && answer.is_object()) {
      a.kind = NodeAnswer::kRunning;
      a.status = answer;
      return a;
    }
    if (r.exit_code == 0) {
      a.problem = fmt::format("host {}: node {} answered something that is not a JSON object: {}",
                              s.plan.host, node, Excerpt(r.out, 2));
      return a;
    }
    if (const std::optional<std::string> error = AnswerError(answer)) {
      a.status = answer;
      a.problem = fmt::format("host {}: node {}: {}", s.plan.host, node, *error);
      return a;
    }
  }
  a.kind =
      !s.host.local() && r.exit_code == kSshFailed ? NodeAnswer::kUnreachable : NodeAnswer::kFailed;
  a.problem = s.host.Failure(r, fmt::format("asking node {} ({})", node, query_arg), query);
  return a;
}

std::vector<NodeAnswer> ClusterHosts::AskAll(const std::string& cmd) const {
  std::vector<NodeAnswer> answers(manifest_.nodes.size());
  const std::vector<std::string> errors =
      Parallel(answers.size(), [&](size_t i) { answers[i] = Ask(manifest_.nodes[i].id, cmd); });
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!errors[i].empty()) answers[i] = {NodeAnswer::kFailed, {}, errors[i]};
  }
  return answers;
}

void ClusterHosts::Push() const {
  provision::ClusterManifest local = manifest_;
  local.guest.kernel = LocalKernel();
  local.guest.initrd = LocalInitrd();
  // Every node holds the cluster secret beside its manifest; the first `up`
  // of a manifest without one makes it.
  const bool secret = manifest_.transport_security != cluster::TransportSecurity::kNone;
  const std::string secret_path = provision::SecretPath(manifest_path_);
  if (secret && provision::EnsureSecret(manifest_path_)) {
    std::fprintf(stderr,
                 "ssictl: made the cluster secret %s (mode 0600; keep it with the manifest)\n",
                 secret_path.c_str());
  }
  for (const Site& s : sites_) {  // one after the other: they may share the directory
    if (!s.host.local()) continue;
    // Its sockets and pid files decide what `down` stops: only this user's.
    EnsurePrivateDir(s.files.dir, remote_dir_given_ ? ExistingDir::kKeep : ExistingDir::kTighten);
    provision::Save(local, s.files.manifest());
    const std::string copy = provision::SecretPath(s.files.manifest());
    if (secret && fs::absolute(copy) != fs::absolute(secret_path)) {
      provision::SaveSecret(provision::LoadSecret(secret_path), copy);
    }
  }
  const TempDir staging("ssictl-push");
  const std::vector<std::string> errors = Parallel(sites_.size(), [&](size_t i) {
    const Site& s = sites_[i];
    if (s.host.local()) return;
    const std::string copy = fmt::format("{}/cluster-{}.toml", staging.path(), i);
    provision::Save(PushedManifest(manifest_, s.files), copy);
    s.host.Push(local.guest.kernel, s.files.kernel());
    if (!local.guest.initrd.empty()) s.host.Push(local.guest.initrd, s.files.initrd());
    s.host.Push(copy, s.files.manifest());
    if (secret) s.host.Push(secret_path, provision::SecretPath(s.files.manifest()));
  });
  std::string failed;
  for (const std::string& e : errors) {
    if (!e.empty()) failed += "\n  " + e;
  }
  if (!failed.empty()) throw Error("pushing the manifest and the guest image failed:" + failed);
}

bool ClusterHosts::Exited(uint32_t node) const {
  const Site& s = SiteOf(node);
  const CapturedRun r = s.host.Run(AliveCommand(s.files, node), kCommandTimeout);
  return r.exit_code != 0 && !r.timed_out && (s.host.local() || r.exit_code != kSshFailed);
}

bool ClusterHosts::Kill(uint32_t node) const {
  const Site& s = SiteOf(node);
  const CapturedRun r = s.host.Run(KillCommand(s.files, node), kCommandTimeout);
  return r.exit_code == 0 && r.out.find("killed") != std::string::npos;
}

}  // namespace ssivm

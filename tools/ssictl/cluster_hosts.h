// The hosts of a cluster manifest as ssictl reaches them from here: which
// nodes each runs, its directory and ssivm binary; and the operations on
// them that `ssictl up|status|down --manifest` are made of (probe, push,
// ask a node, kill a node), each host or node in parallel.
#ifndef SSIVM_TOOLS_SSICTL_CLUSTER_HOSTS_H_
#define SSIVM_TOOLS_SSICTL_CLUSTER_HOSTS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "provision/manifest/manifest.h"
#include "tools/ssictl/cluster_plan.h"
#include "tools/ssictl/remote_host.h"

namespace ssivm {

// How to reach the hosts and what runs there.
struct HostAccess {
  SshOptions ssh;
  std::string remote_dir;              // empty: /var/lib/ssivm/<id> (localhost: the run dir)
  std::string remote_ssivm = "ssivm";  // the node binary on remote hosts
  std::string ssivm;                   // this machine's; empty: located next to ssictl
};

// One host of the manifest.
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
  nlohmann::json status;  // the node's JSON answer: when running, or its {"error": ...}
  std::string problem;    // why there is no answer, or the node's error
};
const char* NodeAnswerName(NodeAnswer::Kind kind);

// Runs fn(i) for i in [0, n), each on its own thread; the message of an
// exception escaping fn(i) becomes errors[i] (empty: fn(i) succeeded).
std::vector<std::string> Parallel(size_t n, const std::function<void(size_t)>& fn);

class ClusterHosts {
 public:
  // Loads the manifest (Error listing its problems).
  ClusterHosts(const std::string& manifest, const HostAccess& access);

  const provision::ClusterManifest& manifest() const { return manifest_; }
  const std::vector<Site>& sites() const { return sites_; }
  const Site& SiteOf(uint32_t node) const;
  std::vector<uint32_t> NodeIds() const;
  // "node 1 (n1) on host".
  std::string NodeLabel(uint32_t node) const;

  // Everything that keeps the cluster from starting, each as "host H:
  // problem" (or "this machine: ..." for the guest image to copy): every
  // host is probed, at once.
  std::vector<std::string> CheckHosts() const;

  // Asks one node's control socket (`ssivm --query CMD` there).
  NodeAnswer Ask(uint32_t node, const std::string& cmd) const;
  // Sends it a whole JSON request (`ssivm --query REQUEST`), waiting at most
  // `timeout` for the answer. An {"error": ...} answer is kFailed, with the
  // answer in `status` and its text in `problem`.
  NodeAnswer Request(uint32_t node, const nlohmann::json& request,
                     std::chrono::milliseconds timeout) const;
  // Asks every node at once; answers in manifest order.
  std::vector<NodeAnswer> AskAll(const std::string& cmd) const;

  // Writes each host's manifest and copies the guest image to the remote
  // ones. Throws Error listing every host that failed.
  void Push() const;

  // Whether the process of a node's pid file is known to be gone (false
  // while it lives, or if the host cannot tell).
  bool Exited(uint32_t node) const;

  // Kills what is left of a node (through its pid file); true if it did.
  bool Kill(uint32_t node) const;

  // After a foreground run: removes the directories ssictl chose on this
  // machine (RunDir()/<cluster_id>: the manifest's copy, the secret's, pid
  // files), which belonged to that run only. Not a --remote-dir, nor one
  // that holds the manifest itself.
  void RemoveLocalFiles() const;

  // The guest image on this machine (the manifest's, or the bundled kernel).
  std::string LocalKernel() const;
  std::string LocalInitrd() const;
  const std::string& LocalSsivm() const { return local_ssivm_; }

 private:
  NodeAnswer Query(uint32_t node, const std::string& query,
                   std::chrono::milliseconds timeout) const;

  std::string manifest_path_;
  provision::ClusterManifest manifest_;
  bool remote_dir_given_;  // --remote-dir: the user's directory, checked but not changed
  std::string local_ssivm_;
  std::vector<Site> sites_;
};

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_CLUSTER_HOSTS_H_

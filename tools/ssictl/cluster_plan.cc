#include "tools/ssictl/cluster_plan.h"

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/command.h"

namespace ssivm {

std::vector<PlannedHost> GroupByHost(const provision::ClusterManifest& m) {
  std::vector<PlannedHost> hosts;
  for (const provision::Node& n : m.nodes) {
    auto it = std::find_if(hosts.begin(), hosts.end(),
                           [&](const PlannedHost& h) { return h.host == n.host; });
    if (it == hosts.end()) it = hosts.insert(hosts.end(), PlannedHost{n.host, {}, 0});
    it->nodes.push_back(n.id);
    it->memory_mib += n.memory_mib;
  }
  return hosts;
}

std::string DefaultRemoteDir(const std::string& cluster_id) {
  return "/var/lib/ssivm/" + cluster_id;
}

provision::ClusterManifest PushedManifest(provision::ClusterManifest m, const HostFiles& files) {
  m.guest.kernel = files.kernel();
  if (!m.guest.initrd.empty()) m.guest.initrd = files.initrd();
  return m;
}

std::string StartCommand(const std::string& ssivm, const HostFiles& files, uint32_t node,
                         const std::string& console, bool detach, const std::string& placement) {
  std::vector<std::string> argv = {ssivm,    "--manifest",         files.manifest(),
                                   "--node", std::to_string(node), "--console",
                                   console,  "--control",          files.control(node)};
  if (!placement.empty()) argv.insert(argv.end(), {"--placement", placement});
  const std::string node_argv = CommandLine(argv);
  const std::string dir = ShellQuote(files.dir);
  const std::string pidfile = ShellQuote(files.pidfile(node));
  if (detach) {
    return fmt::format(
        "mkdir -p {} && cd / && {{ setsid {} < /dev/null > {} 2>&1 & echo $! > {}; }}", dir,
        node_argv, ShellQuote(files.log(node)), pidfile);
  }
  return fmt::format("mkdir -p {} && echo $$ > {} && exec {}", dir, pidfile, node_argv);
}

std::string QueryCommand(const std::string& ssivm, const HostFiles& files, uint32_t node,
                         const std::string& cmd) {
  return CommandLine({ssivm, "--query", cmd, "--control", files.control(node)});
}

std::string AliveCommand(const HostFiles& files, uint32_t node) {
  return fmt::format("p=$(cat {} 2>/dev/null) && [ -n \"$p\" ] && kill -0 $p",
                     ShellQuote(files.pidfile(node)));
}

std::string KillCommand(const HostFiles& files, uint32_t node) {
  return fmt::format(
      "p=$(cat {0} 2>/dev/null) && [ -n \"$p\" ] && grep -q ssivm /proc/$p/cmdline 2>/dev/null && "
      "kill -KILL $p && echo killed $p",
      ShellQuote(files.pidfile(node)));
}

provision::ClusterManifest LocalManifest(const std::string& name, const std::string& kernel,
                                         const UpOptions& up, const ClusterUpOptions& opt,
                                         const std::vector<std::string>& addresses) {
  provision::ClusterManifest m;
  m.cluster_id = name;
  m.epoch = 1;
  if (opt.insecure_transport) m.transport_security = cluster::TransportSecurity::kNone;
  m.placement = provision::PlacementFromName(up.placement).value_or(true);
  m.guest.kernel = kernel;
  m.guest.initrd = up.initrd;
  m.guest.cmdline = up.cmdline;
  m.guest.vcpus_total = opt.nodes * opt.vcpus_per_node;
  m.guest.vcpus_online = m.guest.vcpus_total;
  for (uint32_t k = 0; k < opt.nodes; ++k) {
    provision::Node n;
    n.id = k;
    n.name = fmt::format("node{}", k);
    n.host = "localhost";
    n.address = addresses.at(k);
    n.vcpus = {k * opt.vcpus_per_node, (k + 1) * opt.vcpus_per_node - 1};
    n.memory_mib = opt.memory_per_node_mib;
    n.cache_mib = opt.cache_mib;
    m.nodes.push_back(n);
  }
  return m;
}

UpDecision DecideUp(const provision::ClusterManifest& m, const std::vector<NodeState>& states) {
  std::vector<const NodeState*> running;
  for (const NodeState& s : states) {
    if (s.running) running.push_back(&s);
  }
  if (running.empty()) return {UpDecision::kStart, ""};
  bool same_epoch = running.size() == m.nodes.size();
  std::string which;
  for (const NodeState* s : running) {
    same_epoch = same_epoch && s->epoch == m.epoch;
    which += fmt::format("{}node {} on {} (epoch {})", which.empty() ? "" : ", ", s->node, s->host,
                         s->epoch ? std::to_string(*s->epoch) : "unknown");
  }
  if (same_epoch) {
    return {UpDecision::kAlreadyRunning,
            fmt::format("cluster {} already runs with epoch {} on all {} nodes; nothing to do",
                        m.cluster_id, m.epoch, m.nodes.size())};
  }
  return {UpDecision::kRefuse,
          fmt::format("cluster {} is already (partly) running: {}; the manifest has epoch {} and "
                      "{} nodes. Changing a running aggregate's membership is the hot-add work "
                      "(not done yet), and restarting it is the admin's decision: 'ssictl down "
                      "--manifest FILE', then 'ssictl up --manifest FILE'",
                      m.cluster_id, which, m.epoch, m.nodes.size())};
}

}  // namespace ssivm

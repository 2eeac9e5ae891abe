#include "tools/ssictl/manifest_cmd.h"

#include <unistd.h>

#include <cstdio>

#include "common/error.h"
#include "provision/hostlist/hostlist.h"
#include "provision/manifest/edit.h"
#include "provision/manifest/manifest.h"
#include "provision/manifest/secret.h"

namespace ssivm {
namespace {

using provision::AddNodeOptions;
using provision::ClusterManifest;

constexpr char kNotTold[] =
    "The running cluster was NOT told: ssictl cannot change a live aggregate's membership yet.\n"
    "Restart the aggregate with this manifest for the change to take effect.\n";

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

int New(const ManifestOptions& o) {
  std::vector<std::string> hosts = provision::LoadHostList(o.nodes_file);
  provision::NewManifestOptions n;
  n.cluster_id = o.cluster_id;
  n.vcpus_per_node = o.vcpus_per_node;
  n.memory_per_node_mib = o.memory_per_node_mib;
  n.cache_mib = o.cache_mib;
  n.port = o.port;
  n.kernel = o.kernel;
  n.initrd = o.initrd;
  n.cmdline = o.cmdline;
  ClusterManifest fresh = provision::NewManifest(hosts, n);
  if (o.insecure_transport) fresh.transport_security = cluster::TransportSecurity::kNone;
  fresh.placement = o.placement == "on";
  // The secret beside the manifest (kept if there is one: the nodes hold it).
  const auto secret = [&](const ClusterManifest& m) {
    if (m.transport_security != cluster::TransportSecurity::kNone &&
        provision::EnsureSecret(o.output)) {
      std::printf("%s: the cluster secret (mode 0600; ssictl up copies it to every node)\n",
                  provision::SecretPath(o.output).c_str());
    }
  };
  if (Exists(o.output) && !o.force) {
    ClusterManifest old = provision::Load(o.output);
    if (old == fresh) {
      secret(old);
      std::printf("%s: unchanged (%zu nodes, epoch %llu)\n", o.output.c_str(), old.nodes.size(),
                  static_cast<unsigned long long>(old.epoch));
      return 0;
    }
    if (!o.update) {
      throw Error(o.output + " exists and differs from what " + o.nodes_file +
                  " generates; use --update to add and remove nodes to match the list (ids "
                  "stay stable), or --force to overwrite it");
    }
    AddNodeOptions add;
    add.vcpus = o.vcpus_per_node;
    add.memory_mib = o.memory_per_node_mib;
    add.cache_mib = o.cache_mib;
    add.port = o.port;
    std::vector<std::string> changes = provision::SyncHosts(&old, hosts, add);
    provision::Save(old, o.output);
    secret(old);
    if (changes.empty()) {
      std::printf("%s: membership unchanged (%zu nodes, epoch %llu)\n", o.output.c_str(),
                  old.nodes.size(), static_cast<unsigned long long>(old.epoch));
      return 0;
    }
    for (const std::string& c : changes) std::printf("%s\n", c.c_str());
    std::printf("%s: now %zu nodes, epoch %llu.\n%s", o.output.c_str(), old.nodes.size(),
                static_cast<unsigned long long>(old.epoch), kNotTold);
    return 0;
  }
  provision::Save(fresh, o.output);
  secret(fresh);
  std::printf("%s: %zu nodes, %u vCPUs, %llu MiB, epoch 1\n", o.output.c_str(), fresh.nodes.size(),
              fresh.guest.vcpus_total, static_cast<unsigned long long>(fresh.TotalMemoryMib()));
  return 0;
}

int Check(const ManifestOptions& o) {
  ClusterManifest m;
  try {
    m = provision::Load(o.check_file);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitCheckFailed;
  }
  std::printf("%s: valid: cluster %s, epoch %llu, %zu nodes, %u vCPUs (%u online), %llu MiB\n",
              o.check_file.c_str(), m.cluster_id.c_str(), static_cast<unsigned long long>(m.epoch),
              m.nodes.size(), m.guest.vcpus_total, m.guest.vcpus_online,
              static_cast<unsigned long long>(m.TotalMemoryMib()));
  for (const provision::Node& n : m.nodes) {
    std::printf("  node %u %s host %s address %s vCPUs %u..%u memory %llu MiB\n", n.id,
                n.name.c_str(), n.host.c_str(), n.address.c_str(), n.vcpus.first, n.vcpus.last,
                static_cast<unsigned long long>(n.memory_mib));
  }
  return 0;
}

int Add(const ManifestOptions& o) {
  ClusterManifest m = provision::Load(o.manifest);
  AddNodeOptions add;
  add.name = o.name;
  add.vcpus = o.add_vcpus;
  add.memory_mib = o.add_memory_mib;
  add.port = o.port;
  provision::AddNode(&m, o.host, add);
  provision::Save(m, o.manifest);
  const provision::Node& n = m.nodes.back();
  std::printf("added node %s (id %u, %s, vCPUs %u..%u, %llu MiB) to %s, now epoch %llu.\n%s",
              n.name.c_str(), n.id, n.address.c_str(), n.vcpus.first, n.vcpus.last,
              static_cast<unsigned long long>(n.memory_mib), o.manifest.c_str(),
              static_cast<unsigned long long>(m.epoch), kNotTold);
  return 0;
}

int Remove(const ManifestOptions& o) {
  ClusterManifest m = provision::Load(o.manifest);
  std::string heir = provision::RemoveNode(&m, o.name);
  provision::Save(m, o.manifest);
  const provision::Node* h = m.FindNodeByName(heir);
  std::printf(
      "removed node %s from %s, now epoch %llu; node %s took over its vCPUs and memory (now "
      "vCPUs %u..%u, %llu MiB).\n%s",
      o.name.c_str(), o.manifest.c_str(), static_cast<unsigned long long>(m.epoch), heir.c_str(),
      h->vcpus.first, h->vcpus.last, static_cast<unsigned long long>(h->memory_mib), kNotTold);
  return 0;
}

}  // namespace

ManifestCommands::ManifestCommands(CLI::App& app) {
  CLI::App* manifest = app.add_subcommand("manifest", "Create and check cluster manifests");
  manifest->require_subcommand(1);
  new_ = manifest->add_subcommand("new", "Generate a manifest from a list of hosts");
  new_->add_option("--nodes-file", opt_.nodes_file,
                   "Hosts, one per line or C3 ranges (node[01-16]); '#' comments")
      ->required();
  new_->add_option("-o,--output", opt_.output, "The manifest to write")->required();
  new_->add_option("--cluster-id", opt_.cluster_id, "Cluster name")->capture_default_str();
  new_->add_option("--vcpus-per-node", opt_.vcpus_per_node, "vCPUs each node hosts")
      ->capture_default_str();
  new_->add_option("--memory-per-node", opt_.memory_per_node_mib, "MiB each node contributes")
      ->capture_default_str();
  new_->add_option("--cache-mib", opt_.cache_mib, kCacheMibHelp)->capture_default_str();
  new_->add_option("--port", opt_.port, "Transport port of every node")->capture_default_str();
  new_->add_option("--kernel", opt_.kernel, "Guest kernel (default: the bundled ssivm guest)");
  new_->add_option("--initrd", opt_.initrd, "Initial ramdisk");
  new_->add_option("--cmdline", opt_.cmdline, "Kernel command line");
  new_->add_flag("--update", opt_.update,
                 "If the manifest exists, add and remove nodes to match the list instead");
  new_->add_flag("--force", opt_.force, "Overwrite an existing, different manifest");
  new_->add_flag("--insecure-transport", opt_.insecure_transport,
                 "No cluster secret: anyone who can reach a node's port can join the cluster "
                 "and read and write guest memory (transport_security = \"none\")");
  new_->add_option("--placement", opt_.placement,
                   "Automatic vCPU placement: on (the coordinator moves a vCPU to the node whose "
                   "memory it keeps pulling pages from) or off (only ssictl migrate/pin move "
                   "vCPUs)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();

  check_ = manifest->add_subcommand("check", "Validate a manifest; exit 1 naming every problem");
  check_->add_option("file", opt_.check_file, "The manifest")->required();

  CLI::App* node = app.add_subcommand("node", "Add or remove nodes in a manifest");
  node->require_subcommand(1);
  add_ = node->add_subcommand("add", "Add a node on HOST (epoch + 1)");
  add_->add_option("host", opt_.host, "Where the node process runs")->required();
  add_->add_option("--manifest", opt_.manifest, "The manifest to edit")->capture_default_str();
  add_->add_option("--name", opt_.name, "Node name (default: the host)");
  add_->add_option("--vcpus", opt_.add_vcpus, "vCPUs it hosts (default: as the newest node)");
  add_->add_option("--memory", opt_.add_memory_mib,
                   "MiB it contributes (default: as the newest node)");
  add_->add_option("--port", opt_.port, "Its transport port")->capture_default_str();
  remove_ = node->add_subcommand("remove", "Remove node NAME (epoch + 1); a neighbour takes over");
  remove_->add_option("name", opt_.name, "The node's name")->required();
  remove_->add_option("--manifest", opt_.manifest, "The manifest to edit")->capture_default_str();
}

int ManifestCommands::Run() {
  try {
    if (*new_) return New(opt_);
    if (*check_) return Check(opt_);
    if (*add_) return Add(opt_);
    if (*remove_) return Remove(opt_);
  } catch (const Error& e) {
    std::fprintf(stderr, "ssictl: error: %s\n", e.what());
    return kExitCheckFailed;
  }
  return -1;
}

}  // namespace ssivm

#include "tools/ssictl/domain_cmd.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"
#include "common/file.h"
#include "provision/domain/domain.h"
#include "provision/hostlist/hostlist.h"
#include "provision/manifest/manifest.h"
#include "provision/manifest/secret.h"
#include "tools/ssictl/cluster_up.h"
#include "tools/ssictl/run_state.h"

namespace ssivm {
namespace {

// The manifest a domain XML file describes (libvirt validates it first);
// reports the elements ssivm ignores on `report`. `local`: cells without a
// placement run on this machine.
provision::ClusterManifest ImportDomain(const std::string& file, const std::string& nodes_file,
                                        uint16_t port, bool local, FILE* report) {
  std::vector<uint8_t> bytes = ReadFileBytes(file, 4 << 20);
  std::string xml(bytes.begin(), bytes.end());
  std::string normalized = provision::NormalizeDomainXml(xml, file);
  provision::DomainImportOptions opt;
  opt.port = port;
  if (!nodes_file.empty()) opt.hosts = provision::LoadHostList(nodes_file);
  opt.local = local;  // applies to cells with neither metadata nor a host from the file
  provision::ClusterManifest m = provision::ManifestFromDomainXml(normalized, file, opt);
  for (const std::string& e : provision::IgnoredDomainElements(xml, file)) {
    std::fprintf(report, "%s: <%s> ignored: ssivm does not use it\n", file.c_str(), e.c_str());
  }
  return m;
}

int Import(const std::string& file, const std::string& output, const std::string& nodes_file,
           uint16_t port) {
  provision::ClusterManifest m = ImportDomain(file, nodes_file, port, false, stdout);
  bool changed = provision::Save(m, output);
  provision::EnsureSecret(output);
  std::printf("%s: %s: %zu nodes, %u vCPUs (%u online), %llu MiB, epoch %llu\n", output.c_str(),
              changed ? "written" : "unchanged", m.nodes.size(), m.guest.vcpus_total,
              m.guest.vcpus_online, static_cast<unsigned long long>(m.TotalMemoryMib()),
              static_cast<unsigned long long>(m.epoch));
  return 0;
}

int DumpXml(const std::string& manifest) {
  provision::ClusterManifest m = provision::Load(manifest);
  std::string xml = provision::DomainXmlFromManifest(m);
  provision::NormalizeDomainXml(xml, manifest + " as domain XML");  // libvirt must accept it
  std::fputs(xml.c_str(), stdout);
  return 0;
}

}  // namespace

int UpDomain(const std::string& file, const std::string& nodes_file, RemoteOptions remote) {
  provision::ClusterManifest m =
      ImportDomain(file, nodes_file, provision::kDefaultPort, true, stderr);
  const bool local = std::all_of(m.nodes.begin(), m.nodes.end(),
                                 [](const provision::Node& n) { return n.host == "localhost"; });
  if (local) {
    // Every cell on this machine: free loopback ports instead of fixed ones.
    for (provision::Node& n : m.nodes) n.address = fmt::format("127.0.0.1:{}", FreeLoopbackPort());
  }
  provision::ThrowIfInvalid(m, file + " (as a cluster manifest)");
  remote.manifest = (std::filesystem::path(RunDir()) / (m.cluster_id + ".domain.toml")).string();
  provision::Save(m, remote.manifest);
  std::fprintf(stderr, "ssictl: %s: %zu nodes%s; manifest %s (ssictl status/down --manifest %s)\n",
               file.c_str(), m.nodes.size(), local ? " on this machine" : "",
               remote.manifest.c_str(), remote.manifest.c_str());
  if (remote.detach) return UpManifest(remote);
  // In the foreground the manifest lives as long as the VM.
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code ec;
      std::filesystem::remove(path, ec);
      std::filesystem::remove(provision::SecretPath(path), ec);
    }
  } remove{remote.manifest};
  return UpManifest(remote);
}

DomainCommands::DomainCommands(CLI::App& app) {
  CLI::App* domain = app.add_subcommand("domain", "The VM as libvirt domain XML");
  domain->require_subcommand(1);
  import_ = domain->add_subcommand(
      "import", "Validate domain XML with libvirt and write the cluster manifest it describes");
  import_->add_option("file", domain_file_, "Domain XML: one <cpu><numa><cell> per node")
      ->required();
  import_->add_option("-o,--output", output_, "The manifest to write")->required();
  import_->add_option("--nodes-file", nodes_file_,
                      "Hosts of the cells, in cell order (unless the XML has ssivm metadata)");
  import_->add_option("--port", port_, "Transport port for hosts without an address")
      ->capture_default_str();
  dumpxml_ = app.add_subcommand("dumpxml", "Print the aggregate VM as libvirt domain XML");
  dumpxml_->add_option("--manifest", manifest_, "The cluster manifest")->capture_default_str();
}

int DomainCommands::Run() {
  try {
    if (*import_) return Import(domain_file_, output_, nodes_file_, port_);
    if (*dumpxml_) return DumpXml(manifest_);
  } catch (const Error& e) {
    std::fprintf(stderr, "ssictl: error: %s\n", e.what());
    return 1;
  }
  return -1;
}

}  // namespace ssivm

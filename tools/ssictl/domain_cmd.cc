#include "tools/ssictl/domain_cmd.h"

#include <cstdio>

#include "common/error.h"
#include "common/file.h"
#include "provision/domain/domain.h"
#include "provision/hostlist/hostlist.h"
#include "provision/manifest/manifest.h"

namespace ssivm {
namespace {

int Import(const std::string& file, const std::string& output, const std::string& nodes_file,
           uint16_t port) {
  std::vector<uint8_t> bytes = ReadFileBytes(file, 4 << 20);
  std::string xml(bytes.begin(), bytes.end());
  std::string normalized = provision::NormalizeDomainXml(xml, file);
  provision::DomainImportOptions opt;
  opt.port = port;
  if (!nodes_file.empty()) opt.hosts = provision::LoadHostList(nodes_file);
  provision::ClusterManifest m = provision::ManifestFromDomainXml(normalized, file, opt);
  for (const std::string& e : provision::IgnoredDomainElements(xml, file)) {
    std::printf("%s: <%s> ignored: ssivm does not use it\n", file.c_str(), e.c_str());
  }
  bool changed = provision::Save(m, output);
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

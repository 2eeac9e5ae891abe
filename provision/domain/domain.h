// The aggregate VM described in libvirt's domain XML. libvirt itself parses
// and validates the XML (its in-process test driver, test:///default, with
// schema validation), and ssivm reads the normalized XML libvirt writes back.
//
// Mapping: <name> = cluster_id; <vcpu current='C'>M</vcpu> = vcpus_online C,
// vcpus_total M; <os><kernel>, <initrd>, <cmdline>; one
// <cpu><numa><cell id cpus memory> per cluster node (its vCPU range, which
// must be contiguous, and its memory); <memoryBacking><hugepages><page
// size='2048' unit='KiB'/> = page_size_kib. Where each cell runs comes from
// <metadata><ssivm:cluster xmlns:ssivm="https://ssivm.org/xmlns/cluster/1"
// epoch="N"><ssivm:node cell="0" name="n1" host="n1" address="n1:7400"/>
// (name and address optional) or, without it, from a host list in cell
// order. Everything else (devices, clock, features, ...) is ignored, and
// listed as such.
#ifndef SSIVM_PROVISION_DOMAIN_DOMAIN_H_
#define SSIVM_PROVISION_DOMAIN_DOMAIN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "provision/manifest/manifest.h"

namespace ssivm::provision {

inline constexpr char kSsivmXmlns[] = "https://ssivm.org/xmlns/cluster/1";

// Has libvirt parse and validate xml; returns the normalized XML libvirt
// writes back. Throws ssivm::Error "FILE: libvirt: <libvirt's message>".
std::string NormalizeDomainXml(std::string_view xml, const std::string& file_name);

// The elements of xml ssivm does not use, as paths ("devices/disk", "clock"),
// in document order, each once.
std::vector<std::string> IgnoredDomainElements(std::string_view xml, const std::string& file_name);

struct DomainImportOptions {
  std::vector<std::string> hosts;  // cell i runs on hosts[i], when there is no ssivm metadata
  uint16_t port = kDefaultPort;
  // Without metadata or hosts: every cell on this machine, cell i as node
  // "cell<id>" on localhost listening on 127.0.0.1:(port + i).
  bool local = false;
};

// Normalized domain XML -> manifest (validated). Throws ssivm::Error naming
// the file, the element and the problem.
ClusterManifest ManifestFromDomainXml(std::string_view normalized_xml, const std::string& file_name,
                                      const DomainImportOptions& opt);

// The manifest as domain XML, with the ssivm metadata, so that
// ManifestFromDomainXml(NormalizeDomainXml(DomainXmlFromManifest(m))) == m.
std::string DomainXmlFromManifest(const ClusterManifest& m);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_DOMAIN_DOMAIN_H_

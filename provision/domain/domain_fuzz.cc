// Fuzz target: a libvirt domain XML as `ssictl domain import` and `up
// --domain` read it. ssivm's reader runs here on the raw XML (in use, libvirt
// has normalized it first; the reader trusts none of it either). It accepts
// or throws Error; an accepted domain is a valid manifest that ssictl
// dumpxml writes back to XML reading as the same manifest.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "provision/domain/domain.h"
#include "provision/manifest/manifest.h"
#include "tests/support/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace provision = ssivm::provision;
  const std::string_view xml = ssivm::fuzz::Text(data, size);
  try {
    (void)provision::IgnoredDomainElements(xml, "vm.xml");
    provision::DomainImportOptions opt;
    opt.local = true;  // cells without placement run here
    const provision::ClusterManifest m = provision::ManifestFromDomainXml(xml, "vm.xml", opt);
    ssivm::fuzz::Check(provision::Validate(m).empty(), "an accepted domain is a valid manifest");
    const provision::ClusterManifest again = provision::ManifestFromDomainXml(
        provision::DomainXmlFromManifest(m), "dumped.xml", provision::DomainImportOptions{});
    ssivm::fuzz::Check(again == m, "dumpxml of an accepted domain reads back the same");
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

// Fuzz target: an OSCAR package's config.xml (or a package-set file) as
// `ssictl packages check` reads it from a package directory: parsed as a
// package and resolved on its own (its versions, relations and filters), and
// parsed as a package set. Each step accepts or throws Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "provision/packages/config_xml.h"
#include "provision/packages/resolver.h"
#include "tests/support/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace provision = ssivm::provision;
  const std::string_view xml = ssivm::fuzz::Text(data, size);
  try {
    const provision::Opkg p = provision::ParseOpkg(xml, "config.xml");
    const provision::Repository repo{{p.name, p}};
    (void)provision::Resolve(repo, {p.name}, {"debian", "12", "x86_64"});
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  try {
    (void)provision::ParsePackageSet(xml, "debian-12-x86_64.xml");
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

// Fuzz target: a cluster manifest (TOML) as ssictl, the node process and the
// OSCAR scripts read it. Parse accepts it or throws Error listing the
// problems; what it accepts is valid, and writes out to text that parses
// back to the same manifest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "provision/manifest/manifest.h"
#include "tests/support/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace provision = ssivm::provision;
  try {
    const provision::ClusterManifest m =
        provision::Parse(ssivm::fuzz::Text(data, size), "cluster.toml");
    ssivm::fuzz::Check(provision::Validate(m).empty(), "an accepted manifest is valid");
    ssivm::fuzz::Check(provision::Parse(provision::Write(m), "written.toml") == m,
                       "an accepted manifest writes out and parses back the same");
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

// Fuzz target: a nodes file (host names with C3 ranges) as `ssictl manifest
// new`, `domain import` and the OSCAR scripts read it. ParseHostList accepts
// it or throws Error; what it accepts is at most kMaxHostListHosts hosts,
// none twice.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "provision/hostlist/hostlist.h"
#include "tests/support/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::vector<std::string> hosts =
        ssivm::provision::ParseHostList(ssivm::fuzz::Text(data, size), "nodes.txt");
    ssivm::fuzz::Check(hosts.size() <= ssivm::provision::kMaxHostListHosts,
                       "at most kMaxHostListHosts hosts");
    ssivm::fuzz::Check(std::set<std::string>(hosts.begin(), hosts.end()).size() == hosts.size(),
                       "no host twice");
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

// Finds ssivm's files next to ssictl: the node binary and the bundled guest
// kernel, in a Bazel output tree (runfiles) or an installed layout.
#ifndef SSIVM_TOOLS_SSICTL_LOCATE_H_
#define SSIVM_TOOLS_SSICTL_LOCATE_H_

#include <string>
#include <vector>

namespace ssivm {

// Candidate paths for `relative` (a workspace path such as
// "hypervisor/ssivm"), most specific first: $RUNFILES_DIR, <exe>.runfiles,
// the bazel-bin tree around <exe>, and <exe's dir>/<basename>.
std::vector<std::string> CandidatePaths(const std::string& exe, const std::string& relative);

// The first candidate that exists; throws Error listing where it looked.
std::string Locate(const std::string& relative, const char* env_override);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_LOCATE_H_

// Host lists as cluster tools write them: one host per line, '#' comments,
// and C3/pdsh-style ranges: node[1-16], node[01-08] (zero padded to the width
// of the lower bound), host[1-3,7], rack1-n[2-4].ib.
#ifndef SSIVM_PROVISION_HOSTLIST_HOSTLIST_H_
#define SSIVM_PROVISION_HOSTLIST_HOSTLIST_H_

#include <string>
#include <string_view>
#include <vector>

namespace ssivm::provision {

inline constexpr size_t kMaxHostListHosts = 4096;

// Expands one host expression ("node[01-04]") into host names, in order.
// Throws ssivm::Error naming the expression and the problem.
std::vector<std::string> ExpandHostRange(std::string_view expression);

// Parses a whole nodes file: whitespace-separated host expressions, '#' to
// the end of a line is a comment. Hosts keep file order; a host listed twice
// is an error. Errors name file_name and the line.
std::vector<std::string> ParseHostList(std::string_view text, std::string_view file_name);

// Reads and parses a nodes file.
std::vector<std::string> LoadHostList(const std::string& path);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_HOSTLIST_HOSTLIST_H_

// Reading a guest workload's result line from console output: the guest
// prints `RESULT <name> PASS|FAIL <details>` (guest/kernel/workloads), with
// numeric details as `key=value` words.
#ifndef SSIVM_TOOLS_BENCH_GUEST_RESULT_H_
#define SSIVM_TOOLS_BENCH_GUEST_RESULT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>

namespace ssivm {

// The numeric `key=value` details of the first passing RESULT line of
// `workload` in `output`; nullopt if there is none.
inline std::optional<std::map<std::string, uint64_t>> PassingResult(const std::string& output,
                                                                    const std::string& workload) {
  std::smatch line;
  if (!std::regex_search(output, line, std::regex("RESULT " + workload + " PASS ([^\\r\\n]*)"))) {
    return std::nullopt;
  }
  std::map<std::string, uint64_t> values;
  const std::string details = line[1];
  const std::regex kv("(\\w+)=(\\d+)");
  for (auto it = std::sregex_iterator(details.begin(), details.end(), kv);
       it != std::sregex_iterator(); ++it) {
    values[(*it)[1]] = std::stoull((*it)[2]);
  }
  return values;
}

}  // namespace ssivm

#endif  // SSIVM_TOOLS_BENCH_GUEST_RESULT_H_

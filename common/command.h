// Runs a helper program (e.g. `ip`) to completion and reports its failure
// with its own words.
#ifndef SSIVM_COMMON_COMMAND_H_
#define SSIVM_COMMON_COMMAND_H_

#include <string>
#include <vector>

namespace ssivm {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string output;  // stdout and stderr
};

// Runs argv[0] (searched in PATH) and waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv);

// As RunCommand; throws Error("<command> failed (exit N): <output>") unless
// it exits 0. Returns the output.
std::string RunChecked(const std::vector<std::string>& argv);

}  // namespace ssivm

#endif  // SSIVM_COMMON_COMMAND_H_

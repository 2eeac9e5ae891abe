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

// Where a spawned program's stdin/stdout/stderr go: kInherit keeps ours,
// kDevNull discards, any other value is a file descriptor to dup.
inline constexpr int kInherit = -1;
inline constexpr int kDevNull = -2;
struct SpawnStdio {
  int in = kInherit;
  int out = kInherit;
  int err = kInherit;
};

// Starts argv[0] (searched in PATH); throws Error naming it if it cannot.
int Spawn(const std::vector<std::string>& argv, const SpawnStdio& stdio = {});

// Waits for a child: its exit code, or 128 + the signal that killed it.
int WaitExitStatus(int pid);

// Runs argv[0] (searched in PATH) and waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv);

// As RunCommand; throws Error("<command> failed (exit N): <output>") unless
// it exits 0. Returns the output.
std::string RunChecked(const std::vector<std::string>& argv);

}  // namespace ssivm

#endif  // SSIVM_COMMON_COMMAND_H_

// Runs a helper program (e.g. `ip`) to completion and reports its failure
// with its own words.
#ifndef SSIVM_COMMON_COMMAND_H_
#define SSIVM_COMMON_COMMAND_H_

#include <chrono>
#include <optional>
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
  // Start the child in a process group of its own, so that the terminal's
  // Ctrl-C does not reach it (its parent decides how to stop it).
  bool own_process_group = false;
  // The child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG; kept
  // across exec), and starts with every signal at its default action and
  // unblocked. The kernel sends it when the *thread* that spawned the child
  // ends: spawn from the thread that waits for it (e.g. the main thread).
  bool die_with_parent = false;
};

// Starts argv[0] (searched in PATH); throws Error naming it if it cannot.
int Spawn(const std::vector<std::string>& argv, const SpawnStdio& stdio = {});

// Waits for a child: its exit code, or 128 + the signal that killed it.
int WaitExitStatus(int pid);

// As WaitExitStatus, but gives up after `timeout` (nullopt: still running).
// Checks every 50 ms (sleeping in between).
std::optional<int> WaitExitStatusFor(int pid, std::chrono::milliseconds timeout);

// Runs argv[0] (searched in PATH) and waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv);

// As RunCommand; throws Error("<command> failed (exit N): <output>") unless
// it exits 0. Returns the output.
std::string RunChecked(const std::vector<std::string>& argv);

// A run with stdout and stderr apart, bounded in time.
struct CapturedRun {
  int exit_code = -1;  // 128 + N if killed by signal N
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with stdin from `in` (kDevNull or a file
// descriptor), collecting its output; kills it (SIGKILL) once `timeout` has
// passed. Throws Error only if it cannot be started.
CapturedRun RunCapture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                       int in = kDevNull);

// A word as POSIX sh reads it back: unchanged if it is plain, else in
// single quotes ("it's" -> 'it'\''s').
std::string ShellQuote(const std::string& word);

// "a b 'c d'": argv as one line a shell runs as that argv (and for messages).
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace ssivm

#endif  // SSIVM_COMMON_COMMAND_H_

// One host of a cluster as ssictl reaches it: through ssh for a real host,
// or directly (sh -c) for localhost. Builds the command lines and runs them
// with a time limit; errors name the host, the command and its words.
#ifndef SSIVM_TOOLS_SSICTL_REMOTE_HOST_H_
#define SSIVM_TOOLS_SSICTL_REMOTE_HOST_H_

#include <chrono>
#include <string>
#include <vector>

#include "common/command.h"

namespace ssivm {

struct SshOptions {
  std::vector<std::string> command = {"ssh"};  // SSIVM_SSH overrides (split at spaces)
  std::string user;                            // --ssh-user: ssh -l USER
  std::string identity;                        // --identity: ssh -i FILE
  std::vector<std::string> options;            // --ssh-option KEY=VALUE: ssh -o KEY=VALUE
  int connect_timeout_s = 10;
};

// The options with SSIVM_SSH applied (if set and not empty).
SshOptions WithSshFromEnv(SshOptions options);

// localhost, 127.0.0.1 (any 127/8 address) and ::1: nodes there run without ssh.
bool IsLocalHost(const std::string& host);

// The argv that runs `command` (a POSIX sh command line) on `host` through
// ssh: BatchMode, a connect timeout, the user's options first (ssh keeps the
// first value of an option, so they win), -t for a terminal, else -T.
std::vector<std::string> SshArgv(const SshOptions& ssh, const std::string& host,
                                 const std::string& command, bool tty);

// ssh's own failure status (it cannot connect, authenticate, ...).
inline constexpr int kSshFailed = 255;

class RemoteHost {
 public:
  RemoteHost(std::string host, SshOptions ssh);

  const std::string& host() const { return host_; }
  bool local() const { return local_; }

  // argv running `command` there: ssh, or `sh -c command` on this machine.
  std::vector<std::string> Argv(const std::string& command, bool tty = false) const;

  // Runs `command` there, stdin from `in`, killed after `timeout`.
  CapturedRun Run(const std::string& command, std::chrono::milliseconds timeout,
                  int in = kDevNull) const;

  // Copies a local file to `remote_path` there (through ssh's stdin into a
  // temporary file, then renamed), creating its directory. Throws Error
  // naming the host, both paths and the reason. The copy (and its temporary
  // file) is its owner's only, from the start: the cluster secret is one.
  void Push(const std::string& local_path, const std::string& remote_path) const;

  // "host H: <what>: <reason>" for a run that failed: unreachable (ssh's
  // words), timed out, or the command's exit status and stderr excerpt, then
  // the command line if one is given ("[ran: ...]").
  std::string Failure(const CapturedRun& r, const std::string& what,
                      const std::string& command = "") const;

 private:
  std::string host_;
  SshOptions ssh_;
  bool local_;
};

// The last lines of a command's output, trimmed, for error messages.
std::string Excerpt(const std::string& text, size_t max_lines = 5);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_REMOTE_HOST_H_

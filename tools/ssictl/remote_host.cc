#include "tools/ssictl/remote_host.h"

#include <fcntl.h>

#include <cstdlib>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"

namespace ssivm {

SshOptions WithSshFromEnv(SshOptions options) {
  const char* env = std::getenv("SSIVM_SSH");
  if (env == nullptr) return options;
  std::istringstream words(env);
  std::vector<std::string> command;
  for (std::string w; words >> w;) command.push_back(w);
  if (!command.empty()) options.command = std::move(command);
  return options;
}

bool IsLocalHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

std::vector<std::string> SshArgv(const SshOptions& ssh, const std::string& host,
                                 const std::string& command, bool tty) {
  std::vector<std::string> argv = ssh.command;
  for (const std::string& o : ssh.options) argv.insert(argv.end(), {"-o", o});
  if (!ssh.identity.empty()) argv.insert(argv.end(), {"-i", ssh.identity});
  if (!ssh.user.empty()) argv.insert(argv.end(), {"-l", ssh.user});
  argv.insert(argv.end(),
              {"-o", "BatchMode=yes", "-o", fmt::format("ConnectTimeout={}", ssh.connect_timeout_s),
               tty ? "-t" : "-T", "--", host, command});
  return argv;
}

RemoteHost::RemoteHost(std::string host, SshOptions ssh)
    : host_(std::move(host)), ssh_(std::move(ssh)), local_(IsLocalHost(host_)) {}

std::vector<std::string> RemoteHost::Argv(const std::string& command, bool tty) const {
  if (local_) return {"/bin/sh", "-c", command};
  return SshArgv(ssh_, host_, command, tty);
}

CapturedRun RemoteHost::Run(const std::string& command, std::chrono::milliseconds timeout,
                            int in) const {
  return RunCapture(Argv(command), timeout, in);
}

void RemoteHost::Push(const std::string& local_path, const std::string& remote_path) const {
  UniqueFd in(::open(local_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) ThrowErrno(fmt::format("host {}: cannot read {} to copy it", host_, local_path));
  const std::string dir = remote_path.substr(0, remote_path.find_last_of('/') + 1);
  // A new temporary file (mktemp: a random name, created exclusively) keeps
  // concurrent copies apart and follows nothing planted at a guessable name.
  const std::string tmp = remote_path + ".tmp-ssictl-XXXXXX";
  const std::string command = fmt::format(
      "umask 077 && mkdir -p {dir} && t=$(mktemp {tmp}) && "
      "{{ cat > \"$t\" && mv -f \"$t\" {dst} || {{ rm -f \"$t\"; exit 1; }}; }}",
      fmt::arg("dir", ShellQuote(dir.empty() ? "." : dir)), fmt::arg("tmp", ShellQuote(tmp)),
      fmt::arg("dst", ShellQuote(remote_path)));
  const CapturedRun r = Run(command, std::chrono::minutes(10), in.get());
  if (r.exit_code != 0 || r.timed_out) {
    throw Error(Failure(r, fmt::format("copying {} to {}", local_path, remote_path), command));
  }
}

std::string RemoteHost::Failure(const CapturedRun& r, const std::string& what,
                                const std::string& command) const {
  if (!local_ && r.exit_code == kSshFailed && !r.timed_out) {
    return fmt::format("host {}: unreachable ({}): {}", host_, CommandLine(ssh_.command),
                       Excerpt(r.err, 2));
  }
  const std::string ran = command.empty() ? "" : fmt::format(" [ran: {}]", command);
  if (r.timed_out) return fmt::format("host {}: {}: timed out{}", host_, what, ran);
  const std::string err = Excerpt(r.err);
  return fmt::format("host {}: {}: exit status {}{}{}{}", host_, what, r.exit_code,
                     err.empty() ? "" : ": ", err, ran);
}

std::string Excerpt(const std::string& text, size_t max_lines) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  const size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) out += (out.empty() ? "" : " | ") + lines[i];
  return out;
}

}  // namespace ssivm

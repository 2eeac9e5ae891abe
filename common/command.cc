#include "common/command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"

extern char** environ;

namespace ssivm {

int Spawn(const std::vector<std::string>& args, const SpawnStdio& stdio) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const int targets[3] = {stdio.in, stdio.out, stdio.err};
  for (int fd = 0; fd < 3; ++fd) {
    if (targets[fd] == kDevNull) {
      posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    } else if (targets[fd] >= 0) {
      posix_spawn_file_actions_adddup2(&fa, targets[fd], fd);
    }
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) ThrowErrno(fmt::format("cannot run {}", args[0]), err);
  return pid;
}

int WaitExitStatus(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) ThrowErrno(fmt::format("waiting for process {}", pid));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

CommandResult RunCommand(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) ThrowErrno("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  const int pid = Spawn(args, {kDevNull, write_end.get(), write_end.get()});
  write_end.Reset();
  CommandResult r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(read_end.get(), buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  const int status = WaitExitStatus(pid);
  r.exit_code = status > 128 ? -1 : status;
  return r;
}

std::string RunChecked(const std::vector<std::string>& args) {
  const CommandResult r = RunCommand(args);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const std::string& a : args) cmd += (cmd.empty() ? "" : " ") + a;
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    throw Error(fmt::format("'{}' failed (exit {}): {}", cmd, r.exit_code, out));
  }
  return r.output;
}

}  // namespace ssivm

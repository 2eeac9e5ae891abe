#include "common/command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/unique_fd.h"

namespace ssivm {

namespace {

// argv[0] as execvp finds it, looked up before a fork (the child may only
// make async-signal-safe calls; execvp is not one).
std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  for (size_t begin = 0; begin <= path.size();) {
    size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end == begin ? "." : path.substr(begin, end - begin);
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return name;  // exec reports ENOENT
}

// Spawn with SpawnStdio::die_with_parent: fork and exec (posix_spawn cannot
// set the parent-death signal). The child reports a failed exec's errno
// through a close-on-exec pipe.
int SpawnDyingWithParent(const std::vector<std::string>& args, const SpawnStdio& stdio) {
  const std::string program = FindProgram(args[0]);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null.valid()) ThrowErrno("cannot open /dev/null");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) ThrowErrno("pipe2");
  UniqueFd report_read(p[0]), report_write(p[1]);
  const int targets[3] = {stdio.in, stdio.out, stdio.err};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) ThrowErrno(fmt::format("cannot run {}: fork", args[0]));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(kExitVmmError);  // the parent is already gone
    if (stdio.own_process_group) ::setpgid(0, 0);
    for (int fd = 0; fd < 3; ++fd) {
      if (targets[fd] == kDevNull) ::dup2(null.get(), fd);
      if (targets[fd] >= 0) ::dup2(targets[fd], fd);
    }
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(program.c_str(), argv.data(), environ);
    const int err = errno;
    (void)!::write(report_write.get(), &err, sizeof(err));
    ::_exit(kExitCannotRun);
  }
  report_write.Reset();
  int err = 0;
  ssize_t n;
  while ((n = ::read(report_read.get(), &err, sizeof(err))) < 0 && errno == EINTR) {
  }
  if (n == sizeof(err)) {
    WaitExitStatus(pid);
    ThrowErrno(fmt::format("cannot run {}", args[0]), err);
  }
  return pid;
}

}  // namespace

int Spawn(const std::vector<std::string>& args, const SpawnStdio& stdio) {
  if (stdio.die_with_parent) return SpawnDyingWithParent(args, stdio);
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
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (stdio.own_process_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0) ThrowErrno(fmt::format("cannot run {}", args[0]), err);
  return pid;
}

int WaitExitStatus(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) ThrowErrno(fmt::format("waiting for process {}", pid));
  }
  return ExitStatusOf(status);
}

std::optional<int> WaitExitStatusFor(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitStatusOf(status);
    if (r < 0 && errno != EINTR) ThrowErrno(fmt::format("waiting for process {}", pid));
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
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

std::string ShellQuote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789@%+=:,./_-") == std::string::npos) {
    return word;
  }
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string CommandLine(const std::vector<std::string>& args) {
  std::string line;
  for (const std::string& a : args) line += (line.empty() ? "" : " ") + ShellQuote(a);
  return line;
}

CapturedRun RunCapture(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                       int in) {
  int out_fds[2], err_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) ThrowErrno("pipe");
  UniqueFd out_read(out_fds[0]), out_write(out_fds[1]);
  if (::pipe2(err_fds, O_CLOEXEC) != 0) ThrowErrno("pipe");
  UniqueFd err_read(err_fds[0]), err_write(err_fds[1]);
  const int pid = Spawn(args, {in, out_write.get(), err_write.get()});
  out_write.Reset();
  err_write.Reset();
  CapturedRun r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds[i].fd = -1;
        --open_pipes;
        continue;
      }
      sinks[i]->append(buf, static_cast<size_t>(got));
    }
  }
  r.exit_code = WaitExitStatus(pid);
  return r;
}

std::string RunChecked(const std::vector<std::string>& args) {
  const CommandResult r = RunCommand(args);
  if (r.exit_code != 0) {
    const std::string cmd = CommandLine(args);
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    throw Error(fmt::format("'{}' failed (exit {}): {}", cmd, r.exit_code, out));
  }
  return r.output;
}

}  // namespace ssivm

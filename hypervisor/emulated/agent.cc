#include "hypervisor/emulated/agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/unique_fd.h"
#include "hypervisor/emulated/channel_protocol.h"
#include "hypervisor/emulated/fd_buffer.h"
#include "hypervisor/emulated/l1_setup.h"

namespace ssivm::emulated {
namespace {

using Clock = std::chrono::steady_clock;

// Output a command leaves behind (daemons holding its pipes) is waited for
// this long after it exits; then its status goes out.
constexpr auto kDrainGrace = std::chrono::seconds(2);
// Stop reading sources while this much waits for the channel.
constexpr size_t kChannelBackpressure = 4u << 20;

void Log(const std::string& s) {
  std::fprintf(stderr, "hwkvm-agent: %s\n", s.c_str());
}

[[noreturn]] void PowerOff() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();
}

// A connection the supervisor forwards to a Unix socket in here.
struct Stream {
  UniqueFd fd;
  OutBuffer out;
  bool closing = false;  // the supervisor's side ended: close once `out` is written
};

class Agent {
 public:
  Agent() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    sigchld_.Reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigchld_.valid()) ThrowErrno("signalfd");
  }

  [[noreturn]] void Run() {
    const std::string problems = SetUpL1();
    std::string warning;
    if (problems.empty()) {
      if (const std::string e = RecordEmulatorFaults(); !e.empty()) {
        warning = "the emulator fault goes unrecognized: " + e;
        std::fprintf(stderr, "hwkvm-l1: %s\n", warning.c_str());
      }
    }

    channel_ = OpenChannelPort();
    SendJson(MsgType::kReady, 0,
             nlohmann::json{{"kvm", problems.empty()}, {"detail", problems}, {"warning", warning}});
    Loop();
    Finish();
  }

 private:
  void Send(MsgType type, uint32_t stream, std::span<const uint8_t> payload) {
    channel_out_.Append(EncodeFrame(type, stream, payload));
  }
  void SendJson(MsgType type, uint32_t stream, const nlohmann::json& j) {
    channel_out_.Append(EncodeJsonFrame(type, stream, j));
  }

  void Loop() {
    std::vector<uint8_t> buf;
    for (;;) {
      if (exit_status_ && !exit_sent_ && (OutputsClosed() || Clock::now() > drain_deadline_)) {
        SendJson(MsgType::kExit, 0, nlohmann::json{{"status", *exit_status_}});
        exit_sent_ = true;
      }
      if (exit_sent_ && channel_out_.empty() && (!linger_ || no_children_)) return;

      std::vector<pollfd> fds;
      std::vector<int> kinds;  // what each pollfd is
      const auto add = [&](int fd, short events, int kind) {
        fds.push_back({fd, events, 0});
        kinds.push_back(kind);
      };
      const bool can_read = channel_out_.size() < kChannelBackpressure;
      add(channel_.get(), static_cast<short>(POLLIN | (channel_out_.empty() ? 0 : POLLOUT)), -1);
      add(sigchld_.get(), POLLIN, -2);
      if (can_read && out_.valid()) add(out_.get(), POLLIN, -3);
      if (can_read && err_.valid()) add(err_.get(), POLLIN, -4);
      if (in_.valid() && !in_buf_.empty()) add(in_.get(), POLLOUT, -5);
      for (auto& [id, s] : streams_) {
        add(s.fd.get(),
            static_cast<short>((can_read && !s.closing ? POLLIN : 0) |
                               (s.out.empty() ? 0 : POLLOUT)),
            static_cast<int>(id));
      }
      if (Clock::now() >= next_alive_) {
        Send(MsgType::kAlive, 0, std::span<const uint8_t>{});
        next_alive_ = Clock::now() + std::chrono::milliseconds(kAliveIntervalMs);
      }
      const int timeout = exit_status_ && !exit_sent_ ? 100 : kAliveIntervalMs;
      if (::poll(fds.data(), fds.size(), timeout) < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("poll");
      }
      for (size_t i = 0; i < fds.size(); ++i) {
        const short re = fds[i].revents;
        if (re == 0) continue;
        switch (kinds[i]) {
          case -1:
            if (re & POLLOUT) {
              if (!channel_out_.Flush(channel_.get())) throw Error("the channel to the host broke");
            }
            if (re & POLLIN) ReadChannel(buf);
            break;
          case -2:
            Reap();
            break;
          case -3:
            Pump(out_, MsgType::kStdout, buf);
            break;
          case -4:
            Pump(err_, MsgType::kStderr, buf);
            break;
          case -5:
            // The command closed its stdin, or all of ours went to it and ours ended.
            if (!in_buf_.Flush(in_.get()) || (in_buf_.empty() && stdin_eof_ && !tty_)) {
              in_.Reset();
            }
            break;
          default:
            PumpStream(static_cast<uint32_t>(kinds[i]), re, buf);
            break;
        }
      }
    }
  }

  bool OutputsClosed() const { return !out_.valid() && !err_.valid(); }

  void ReadChannel(std::vector<uint8_t>& buf) {
    const long n = ReadSome(channel_.get(), buf);
    // virtio-serial reports the host side's disconnect as end of file: the
    // supervisor is gone, and nobody would see the command's results.
    if (n == 0) throw Error("the supervisor closed the channel");
    if (n < 0) return;
    decoder_.Feed(buf);
    while (auto f = decoder_.Next()) Handle(*f);
  }

  void Handle(const Frame& f) {
    switch (f.type) {
      case MsgType::kExec:
        Exec(ExecRequestFromJson(f.Json()));
        break;
      case MsgType::kStdin:
        if (in_.valid()) in_buf_.Append(f.payload);
        break;
      case MsgType::kStdinEof:
        stdin_eof_ = true;
        if (in_.valid() && in_buf_.empty() && !tty_) in_.Reset();
        break;
      case MsgType::kSignal: {
        const int sig = static_cast<int>(JsonInt(f.Json(), "signal", 1, 64));
        if (child_ > 0 && !exit_status_) {
          ::kill(-child_, sig);
        } else if (linger_ && exit_status_) {
          ::kill(-1, sig);  // what the command left running
        }
        break;
      }
      case MsgType::kWinSize:
        if (tty_ && out_.valid()) {
          const nlohmann::json j = f.Json();
          winsize ws{};
          ws.ws_row = static_cast<uint16_t>(JsonInt(j, "rows", 0, 0xffff));
          ws.ws_col = static_cast<uint16_t>(JsonInt(j, "cols", 0, 0xffff));
          ::ioctl(out_.get(), TIOCSWINSZ, &ws);
        }
        break;
      case MsgType::kOpen:
        Open(f.stream, JsonString(f.Json(), "path"));
        break;
      case MsgType::kData:
        if (auto it = streams_.find(f.stream); it != streams_.end() && !it->second.closing) {
          it->second.out.Append(f.payload);
        }
        break;
      case MsgType::kClose:
        if (auto it = streams_.find(f.stream); it != streams_.end()) {
          it->second.closing = true;
          if (it->second.out.empty()) streams_.erase(it);
        }
        break;
      default:
        throw Error(fmt::format("the host sent a {} message, which only the agent sends",
                                MsgTypeName(f.type)));
    }
  }

  void Exec(const ExecRequest& r) {
    if (child_ > 0) throw Error("the host asked to run a second command");
    tty_ = r.tty;
    linger_ = r.linger;
    UniqueFd child_in, child_out, child_err, slave;
    if (r.tty) {
      UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!master.valid() || ::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) {
        ThrowErrno("posix_openpt");
      }
      slave.Reset(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!slave.valid()) ThrowErrno("open pty slave");
      if (r.rows != 0 && r.cols != 0) {
        winsize ws{};
        ws.ws_row = r.rows;
        ws.ws_col = r.cols;
        ::ioctl(master.get(), TIOCSWINSZ, &ws);
      }
      const int dup = ::fcntl(master.get(), F_DUPFD_CLOEXEC, 3);
      in_.Reset(dup);
      out_ = std::move(master);
    } else {
      int p[3][2];
      for (auto& pp : p) {
        if (::pipe2(pp, O_CLOEXEC) != 0) ThrowErrno("pipe2");
      }
      child_in.Reset(p[0][0]);
      in_.Reset(p[0][1]);
      out_.Reset(p[1][0]);
      child_out.Reset(p[1][1]);
      err_.Reset(p[2][0]);
      child_err.Reset(p[2][1]);
    }
    std::vector<char*> argv, envp;
    for (const std::string& a : r.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::vector<std::string> env = InsideEnvironment(r.env, ::sysconf(_SC_NPROCESSORS_ONLN));
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) ThrowErrno("fork");
    if (pid == 0) {
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::setsid();
      if (r.tty) {
        ::ioctl(slave.get(), TIOCSCTTY, 0);
        for (int fd = 0; fd < 3; ++fd) ::dup2(slave.get(), fd);
      } else {
        ::dup2(child_in.get(), 0);
        ::dup2(child_out.get(), 1);
        ::dup2(child_err.get(), 2);
      }
      if (::chdir(r.cwd.c_str()) != 0) {
        std::fprintf(stderr, "hwkvm: cannot enter %s: %s\n", r.cwd.c_str(), std::strerror(errno));
        ::_exit(kExitCannotRun);
      }
      environ = envp.data();
      ::execvp(argv[0], argv.data());
      std::fprintf(stderr, "hwkvm: cannot run %s: %s\n", argv[0], std::strerror(errno));
      ::_exit(kExitCannotRun);
    }
    child_ = pid;
    for (int fd : {in_.get(), out_.get(), err_.get()}) {
      if (fd >= 0) SetNonBlocking(fd);
    }
  }

  void Pump(UniqueFd& fd, MsgType type, std::vector<uint8_t>& buf) {
    const long n = ReadSome(fd.get(), buf);
    if (n > 0) {
      Send(type, 0, buf);
    } else if (n == 0) {
      if (tty_ && type == MsgType::kStdout) in_.Reset();  // the same terminal
      fd.Reset();
    }
  }

  void Open(uint32_t id, const std::string& path) {
    Stream s;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string error;
    if (path.size() >= sizeof(a.sun_path)) {
      error = "the path is too long for a Unix socket";
    } else {
      std::memcpy(a.sun_path, path.c_str(), path.size());
      s.fd.Reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!s.fd.valid() || ::connect(s.fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        error = ErrnoText(errno);
      }
    }
    if (!error.empty()) {
      SendJson(MsgType::kOpenFailed, id, nlohmann::json{{"error", error}});
      return;
    }
    SetNonBlocking(s.fd.get());
    streams_[id] = std::move(s);
  }

  void PumpStream(uint32_t id, short revents, std::vector<uint8_t>& buf) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    Stream& s = it->second;
    bool gone = false;
    if (revents & POLLOUT) gone = !s.out.Flush(s.fd.get());
    if (!gone && (revents & (POLLIN | POLLHUP | POLLERR))) {
      const long n = ReadSome(s.fd.get(), buf);
      if (n > 0) Send(MsgType::kData, id, buf);
      if (n == 0) gone = true;
    }
    if (gone || (s.closing && s.out.empty())) {
      if (!s.closing) Send(MsgType::kClose, id, std::span<const uint8_t>{});
      streams_.erase(it);
    }
  }

  void Reap() {
    signalfd_siginfo si{};
    while (::read(sigchld_.get(), &si, sizeof(si)) == sizeof(si)) {
    }
    for (;;) {
      int ws = 0;
      const pid_t pid = ::waitpid(-1, &ws, WNOHANG);
      if (pid < 0 && errno == ECHILD) no_children_ = child_ > 0;
      if (pid <= 0) return;
      if (pid == child_) {
        exit_status_ = ExitStatusOf(ws);
        drain_deadline_ = Clock::now() + kDrainGrace;
      }
    }
  }

  // Stops what is left (unless it lingers until the last process ended).
  [[noreturn]] void Finish() {
    if (!no_children_) {
      ::kill(-1, SIGTERM);
      const auto deadline = Clock::now() + std::chrono::seconds(3);
      while (Clock::now() < deadline) {
        int ws = 0;
        const pid_t pid = ::waitpid(-1, &ws, WNOHANG);
        if (pid < 0) break;
        if (pid == 0) ::usleep(50 * 1000);
      }
      ::kill(-1, SIGKILL);
    }
    PowerOff();
  }

  UniqueFd channel_;
  UniqueFd sigchld_;
  OutBuffer channel_out_;
  FrameDecoder decoder_;
  pid_t child_ = -1;
  bool tty_ = false;
  bool linger_ = false;
  UniqueFd in_, out_, err_;  // the command's stdin, stdout (or terminal), stderr
  OutBuffer in_buf_;
  bool stdin_eof_ = false;
  std::optional<int> exit_status_;
  Clock::time_point drain_deadline_;
  Clock::time_point next_alive_;

  bool exit_sent_ = false;
  bool no_children_ = false;
  std::map<uint32_t, Stream> streams_;
};

}  // namespace

void RunAgentIfAsked(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], kAgentFlag) != 0) return;
  if (::getpid() != 1) {
    std::fprintf(stderr, "%s is for the emulated machine's init only\n", kAgentFlag);
    std::exit(kExitUsage);
  }
  try {
    Agent agent;
    agent.Run();
  } catch (const std::exception& e) {
    Log(fmt::format("FAILED: {}", e.what()));
  }
  PowerOff();
}

}  // namespace ssivm::emulated

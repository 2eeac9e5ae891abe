#include "hypervisor/emulated/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "common/exit_status.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "hypervisor/emulated/fd_buffer.h"
#include "hypervisor/emulated/l1_initramfs.h"
#include "hypervisor/emulated/qemu_command.h"

namespace ssivm::emulated {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kLogTail = 40;    // console lines shown when the machine fails
constexpr size_t kLogKeep = 2000;  // console lines kept in memory
constexpr auto kPowerOffWait = std::chrono::seconds(30);
constexpr auto kStopGrace = std::chrono::seconds(20);  // after a forwarded stop signal
constexpr auto kDyingDrain = std::chrono::seconds(2);  // console read after a failure
constexpr char kL1Append[] = "console=ttyS0 quiet panic=-1 nokaslr";

// Listens on `path` (ListenPrivate: owner-only, a stale socket replaced, a
// live one refused); a missing directory is made, owner-only, and added to
// `made`.
UniqueFd Listen(const std::string& path, std::vector<fs::path>* made = nullptr) {
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::exists(dir)) {
    std::error_code ec;
    fs::create_directory(dir, ec);
    fs::permissions(dir, fs::perms::owner_all, ec);
    if (ec) throw Error(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    if (made != nullptr) made->push_back(dir);
  }
  return ListenPrivate(path, "socket", 16);
}

// This terminal in raw, non-blocking mode for the time of the run (the
// machine's terminal does the echoing and line editing).
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd), flags_(::fcntl(fd, F_GETFL)) {
    termios t{};
    if (::tcgetattr(fd_, &t) == 0) {
      saved_ = t;
      cfmakeraw(&t);
      ::tcsetattr(fd_, TCSANOW, &t);
    }
    if (flags_ >= 0) ::fcntl(fd_, F_SETFL, flags_ | O_NONBLOCK);
  }
  ~RawTerminal() {
    if (saved_) ::tcsetattr(fd_, TCSANOW, &*saved_);
    if (flags_ >= 0) ::fcntl(fd_, F_SETFL, flags_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  int flags_;
  std::optional<termios> saved_;
};

// QEMU, in a process group of its own (the terminal's signals are the
// command's, not QEMU's), killed if this process dies.
struct Qemu {
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd output;  // its stdout and stderr
};

Qemu StartQemu(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) ThrowErrno("pipe2");
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) ThrowErrno("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(kExitVmmError);
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(wr.get(), 1);
    ::dup2(wr.get(), 2);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(kExitCannotRun);
  }
  Qemu q;
  q.pid = pid;
  q.pidfd.Reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!q.pidfd.valid()) ThrowErrno("pidfd_open");
  q.output = std::move(rd);
  SetNonBlocking(q.output.get());
  return q;
}

// The machine's RAM is this host's: it must be there.
void CheckHostMemory(uint64_t mib) {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (f >> key >> kib >> unit) {
    if (key == "MemAvailable:" && mib > kib / 1024) {
      throw Error(fmt::format(
          "not enough host memory for the emulated machine: it needs {} MiB (the guest's memory "
          "and its own), this host has {} MiB available",
          mib, kib / 1024));
    }
  }
}

std::string SelfExe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(fmt::format("cannot read /proc/self/exe: {}", ec.message()));
  return p.string();
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// A host connection to a forwarded socket.
struct Client {
  UniqueFd fd;
  OutBuffer out;
  bool closing = false;  // the machine's side ended: close once `out` is written
};

class Supervisor {
 public:
  Supervisor(const MachineOptions& o, const ExecRequest& exec) : o_(o), exec_(exec) {}

  MachineRun Run() {
    Say(fmt::format("starting the emulated hardware-KVM machine (QEMU TCG, {} CPUs, {} MiB)",
                    o_.cpus, o_.memory_mib));
    const L1Packages pkgs =
        PrepareL1Packages(o_.cache_dir.empty() ? DefaultCacheDir() : o_.cache_dir, o_.offline,
                          [this](const std::string& s) { Say(s); });
    CheckHostMemory(o_.memory_mib);
    if (!FindInPath("qemu-system-x86_64")) {
      throw Error("qemu-system-x86_64 is missing: install Debian's qemu-system-x86 package");
    }
    TempDir tmp("hwkvm");
    L1Boot boot;
    boot.agent = o_.agent.empty() ? SelfExe() : o_.agent;
    boot.agent_args = {"--hwkvm-agent"};
    for (const std::string& d : o_.private_dirs) {
      boot.private_dirs.push_back(fs::absolute(d).lexically_normal().string());
    }
    QemuSpec spec;
    spec.cpus = o_.cpus;
    spec.memory_mib = o_.memory_mib;
    spec.kernel = pkgs.vmlinuz;
    spec.initrd = tmp.path() + "/initrd.cpio";
    spec.append = fmt::format("{} {}{}", kL1Append, kNestedPagingParam, o_.nested_paging ? 1 : 0);

    spec.serial_socket = tmp.path() + "/serial.sock";
    spec.channel_socket = tmp.path() + "/channel.sock";
    spec.shares.push_back({kRootShareTag, "/", true});
    for (size_t i = 0; i < o_.rw_dirs.size(); ++i) {
      const std::string dir = fs::absolute(o_.rw_dirs[i]).lexically_normal().string();
      if (!fs::is_directory(dir)) {
        throw Error(fmt::format("{} (to share read-write) is not a directory", dir));
      }
      spec.shares.push_back({fmt::format("rw{}", i), dir, false});
      boot.rw_shares.push_back(spec.shares.back());
    }
    {
      const std::vector<uint8_t> initrd = BuildL1Initramfs(pkgs, boot);
      std::ofstream f(spec.initrd, std::ios::binary);
      f.write(reinterpret_cast<const char*>(initrd.data()),
              static_cast<std::streamsize>(initrd.size()));
      if (!f) throw Error(fmt::format("cannot write {}", spec.initrd));
    }
    serial_listen_ = Listen(spec.serial_socket);
    channel_listen_ = Listen(spec.channel_socket);
    for (const std::string& path : o_.forward_sockets) {
      forward_.emplace_back(path, Listen(path, &made_dirs_));
    }
    if (!o_.log_path.empty()) {
      log_file_.open(o_.log_path, std::ios::trunc);
      if (!log_file_) throw Error(fmt::format("cannot write the console log {}", o_.log_path));
    }

    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGPIPE}) sigaddset(&set, s);
    sigset_t old;
    ::pthread_sigmask(SIG_BLOCK, &set, &old);
    signals_.Reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_.valid()) ThrowErrno("signalfd");

    start_ = Clock::now();
    qemu_ = StartQemu(QemuArgv(spec));
    std::optional<RawTerminal> raw;
    if (exec_.tty) raw.emplace(STDIN_FILENO);
    MachineRun result;
    try {
      result = Loop();
    } catch (const Error& e) {
      result = Failed(e.what());
    }
    result.stop_signal = stop_signal_;
    StopQemu();
    raw.reset();
    for (const auto& [path, fd] : forward_) ::unlink(path.c_str());
    for (const fs::path& d : made_dirs_) ::rmdir(d.c_str());  // if empty
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (!result.machine_failed) {
      Say(fmt::format("the emulated machine stopped after {:.1f} s",
                      Seconds(Clock::now() - start_)));
    }
    return result;
  }

 private:
  static bool FindInPath(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    size_t b = 0;
    while (b <= p.size()) {
      const size_t e = p.find(':', b) == std::string::npos ? p.size() : p.find(':', b);
      if (::access((p.substr(b, e - b) + "/" + name).c_str(), X_OK) == 0) return true;
      b = e + 1;
    }
    return false;
  }

  void Say(const std::string& s) {
    if (o_.progress) o_.progress(s);
  }

  void LogLine(const std::string& line) {
    const std::string stamped = fmt::format("[{:8.2f}] {}", Seconds(Clock::now() - start_), line);
    log_.push_back(stamped);
    if (log_.size() > kLogKeep) log_.pop_front();
    if (log_file_) log_file_ << stamped << '\n' << std::flush;
  }

  MachineRun Failed(const std::string& why) {
    DrainDyingMachine();
    std::string tail;
    const size_t from = log_.size() > kLogTail ? log_.size() - kLogTail : 0;
    for (size_t i = from; i < log_.size(); ++i) tail += "\n  " + log_[i];
    MachineRun r;
    r.status = kExitVmmError;
    r.machine_failed = true;
    r.message = fmt::format("the emulated machine failed: {}{}{}", why,
                            tail.empty() ? "" : "; the end of its console:", tail);
    if (!o_.log_path.empty()) r.message += fmt::format("\n(whole console: {})", o_.log_path);
    return r;
  }

  UniqueFd AcceptQemu(UniqueFd& listen, const char* what, Clock::time_point deadline) {
    for (;;) {
      pollfd p[2] = {{listen.get(), POLLIN, 0}, {qemu_.pidfd.get(), POLLIN, 0}};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) throw Error(fmt::format("QEMU did not connect its {} in time", what));
      ::poll(p, 2, static_cast<int>(left.count()));
      if (p[1].revents) {
        DrainQemuOutput();
        throw Error("QEMU exited at once");
      }
      if (p[0].revents) {
        Peer peer = AcceptPeer(listen.get(), SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (peer.fd.valid() && peer.trusted) return std::move(peer.fd);
      }
    }
  }

  // A machine that fails often prints why (a kernel panic, QEMU's own
  // error) just after: read its console and QEMU's output for a moment.
  void DrainDyingMachine() {
    std::vector<uint8_t> buf;
    const Clock::time_point until = Clock::now() + kDyingDrain;
    while (Clock::now() < until && (serial_.valid() || qemu_.output.valid())) {
      std::vector<pollfd> fds;
      if (serial_.valid()) fds.push_back({serial_.get(), POLLIN, 0});
      if (qemu_.output.valid()) fds.push_back({qemu_.output.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
      if (serial_.valid()) {
        const long n = ReadSome(serial_.get(), buf);
        if (n == 0) serial_.Reset();
        if (n > 0) SplitLines(serial_text_, buf, "");
      }
      DrainQemuOutput();
    }
  }

  void DrainQemuOutput() {
    std::vector<uint8_t> buf;
    while (qemu_.output.valid()) {
      const long n = ReadSome(qemu_.output.get(), buf);
      if (n <= 0) {
        if (n == 0) qemu_.output.Reset();
        break;
      }
      SplitLines(qemu_text_, buf, "qemu: ");
    }
  }

  // Appends `bytes` to `partial` and logs every complete line.
  void SplitLines(std::string& partial, std::span<const uint8_t> bytes, const char* prefix) {
    partial.append(bytes.begin(), bytes.end());
    size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      std::string line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (std::strncmp(prefix, "qemu", 4) == 0 &&
          line.find("TCG doesn't support requested feature") != std::string::npos) {
        continue;  // EPYC lists features TCG lacks; harmless
      }
      LogLine(prefix + line);
      if (line.rfind("hwkvm-l1: ", 0) == 0) {
        Say(fmt::format("{} ({:.1f} s)", line.substr(10), Seconds(Clock::now() - start_)));
      }
    }
  }

  void Send(MsgType type, uint32_t stream, std::span<const uint8_t> payload) {
    channel_out_.Append(EncodeFrame(type, stream, payload));
  }
  void SendJson(MsgType type, uint32_t stream, const nlohmann::json& j) {
    channel_out_.Append(EncodeJsonFrame(type, stream, j));
  }

  MachineRun Loop() {
    const Clock::time_point boot_deadline = start_ + o_.boot_timeout;
    serial_ = AcceptQemu(serial_listen_, "serial console", boot_deadline);
    channel_ = AcceptQemu(channel_listen_, "channel", boot_deadline);
    serial_listen_.Reset();
    channel_listen_.Reset();
    Say("QEMU started; the machine's kernel boots");
    std::vector<uint8_t> buf;
    bool stdin_open = true;
    for (;;) {
      const Clock::time_point now = Clock::now();
      if (!ready_ && now > boot_deadline) {
        return Failed(fmt::format("not ready after {} s", o_.boot_timeout.count()));
      }
      if (o_.timeout.count() > 0 && now > start_ + o_.timeout && !stop_sent_at_) {
        LogLine(fmt::format("hwkvm: timeout after {} s; stopping the command", o_.timeout.count()));
        timed_out_ = true;
        SendSignal(SIGTERM);
      }
      if (ready_ && o_.stall_timeout.count() > 0 && now > last_heard_ + o_.stall_timeout &&
          !qemu_exited_) {
        return Failed(fmt::format(
            "the machine said nothing for {} s (its agent sends a sign of life every {} s): its "
            "kernel hangs",
            o_.stall_timeout.count(), kAliveIntervalMs / 1000));
      }
      if (stop_sent_at_ && now > *stop_sent_at_ + kStopGrace) {
        return Failed(timed_out_ ? fmt::format("the command ran longer than {} s and did not stop",
                                               o_.timeout.count())
                                 : "the command did not stop when asked to");
      }
      if (exit_status_ && stdout_buf_.empty() && stderr_buf_.empty() &&
          (!exec_.linger || qemu_exited_)) {
        if (timed_out_) {
          return Failed(fmt::format("the command ran longer than {} s (stopped, status {})",
                                    o_.timeout.count(), *exit_status_));
        }
        MachineRun r;
        r.status = *exit_status_;
        return r;
      }

      std::vector<pollfd> fds;
      std::vector<int> kinds;
      const auto add = [&](int fd, short ev, int kind) {
        fds.push_back({fd, ev, 0});
        kinds.push_back(kind);
      };
      if (channel_.valid()) {
        add(channel_.get(), static_cast<short>(POLLIN | (channel_out_.empty() ? 0 : POLLOUT)), -1);
      }
      if (serial_.valid()) add(serial_.get(), POLLIN, -2);
      if (!qemu_exited_) add(qemu_.pidfd.get(), POLLIN, -3);
      if (qemu_.output.valid()) add(qemu_.output.get(), POLLIN, -4);
      add(signals_.get(), POLLIN, -5);
      if (started_ && stdin_open && channel_out_.size() < (1u << 20)) add(STDIN_FILENO, POLLIN, -6);
      if (!stdout_buf_.empty()) add(STDOUT_FILENO, POLLOUT, -7);
      if (!stderr_buf_.empty()) add(STDERR_FILENO, POLLOUT, -8);
      for (size_t i = 0; i < forward_.size(); ++i)
        add(forward_[i].second.get(), POLLIN, -100 - static_cast<int>(i));
      for (auto& [id, c] : clients_) {
        add(c.fd.get(),
            static_cast<short>((c.closing ? 0 : POLLIN) | (c.out.empty() ? 0 : POLLOUT)),
            static_cast<int>(id));
      }
      if (::poll(fds.data(), fds.size(), 500) < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("poll");
      }
      for (size_t i = 0; i < fds.size(); ++i) {
        const short re = fds[i].revents;
        if (re == 0) continue;
        const int k = kinds[i];
        if (k == -1) {
          if ((re & POLLOUT) && !channel_out_.Flush(channel_.get())) {
            return Failed("the channel to the machine broke");
          }
          if (re & (POLLIN | POLLHUP)) {
            const long n = ReadSome(channel_.get(), buf);
            if (n == 0 && exit_status_) {  // powering off after the command (and what it left)
              channel_.Reset();
              continue;
            }
            if (n == 0) return Failed("the machine closed its channel before the command ended");

            if (n > 0) {
              last_heard_ = now;
              decoder_.Feed(buf);
              while (auto f = decoder_.Next()) {
                if (auto r = Handle(*f)) return *r;
              }
            }
          }
        } else if (k == -2) {
          const long n = ReadSome(serial_.get(), buf);
          if (n == 0) serial_.Reset();
          if (n > 0) SplitLines(serial_text_, buf, "");
        } else if (k == -3) {
          DrainQemuOutput();
          qemu_exited_ = true;
          if (exit_status_) continue;  // powered off after reporting
          return Failed("QEMU exited before the command ended");
        } else if (k == -4) {
          DrainQemuOutput();
        } else if (k == -5) {
          OnSignal();
        } else if (k == -6) {
          const long n = ReadSome(STDIN_FILENO, buf, size_t{16} * 1024);
          if (n > 0) Send(MsgType::kStdin, 0, buf);
          if (n == 0) {
            stdin_open = false;
            Send(MsgType::kStdinEof, 0, std::span<const uint8_t>{});
          }
        } else if (k == -7) {
          stdout_buf_.Flush(STDOUT_FILENO);
        } else if (k == -8) {
          stderr_buf_.Flush(STDERR_FILENO);
        } else if (k <= -100) {
          Accept(static_cast<size_t>(-100 - k));
        } else {
          PumpClient(static_cast<uint32_t>(k), re, buf);
        }
      }
    }
  }

  std::optional<MachineRun> Handle(const Frame& f) {
    switch (f.type) {
      case MsgType::kReady: {
        const nlohmann::json j = f.Json();
        const auto text = [&j](const char* key) {
          return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
        };
        if (!j.contains("kvm") || !j["kvm"].is_boolean() || !j["kvm"].get<bool>()) {
          return Failed(fmt::format("no usable /dev/kvm inside: {}", text("detail")));
        }
        ready_ = true;
        if (const std::string warning = text("warning"); !warning.empty()) {
          Say("inside: " + warning);
        }
        std::vector<std::string> shown = exec_.argv;
        shown[0] = fs::path(shown[0]).filename().string();
        Say(fmt::format("KVM ready inside after {:.1f} s; running {}",
                        Seconds(Clock::now() - start_), CommandLine(shown)));
        SendJson(MsgType::kExec, 0, ToJson(exec_));
        started_ = true;
        if (exec_.tty) SendWindowSize();
        return std::nullopt;
      }
      case MsgType::kStdout:
        stdout_buf_.Append(f.payload);
        stdout_buf_.Flush(STDOUT_FILENO);
        return std::nullopt;
      case MsgType::kStderr:
        stderr_buf_.Append(f.payload);
        stderr_buf_.Flush(STDERR_FILENO);
        return std::nullopt;
      case MsgType::kAlive:
        return std::nullopt;
      case MsgType::kExit:
        exit_status_ = static_cast<int>(JsonInt(f.Json(), "status", 0, 255));
        if (o_.on_exit) o_.on_exit(*exit_status_);
        return std::nullopt;
      case MsgType::kOpenFailed:
        if (auto it = clients_.find(f.stream); it != clients_.end()) {
          LogLine(fmt::format("hwkvm: forwarded connection {}: {}", f.stream,
                              JsonString(f.Json(), "error")));
          clients_.erase(it);
        }
        return std::nullopt;
      case MsgType::kData:
        if (auto it = clients_.find(f.stream); it != clients_.end() && !it->second.closing) {
          it->second.out.Append(f.payload);
        }
        return std::nullopt;
      case MsgType::kClose:
        if (auto it = clients_.find(f.stream); it != clients_.end()) {
          it->second.closing = true;
          if (it->second.out.empty()) clients_.erase(it);
        }
        return std::nullopt;
      default:
        return Failed(fmt::format("the agent sent a {} message, which only the host sends",
                                  MsgTypeName(f.type)));
    }
  }

  void SendSignal(int sig) {
    if (!stop_sent_at_) stop_sent_at_ = Clock::now();
    if (started_) SendJson(MsgType::kSignal, 0, nlohmann::json{{"signal", sig}});
  }

  void SendWindowSize() {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
      SendJson(MsgType::kWinSize, 0, nlohmann::json{{"rows", ws.ws_row}, {"cols", ws.ws_col}});
    }
  }

  void OnSignal() {
    signalfd_siginfo si{};
    while (::read(signals_.get(), &si, sizeof(si)) == sizeof(si)) {
      const int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGWINCH) {
        if (exec_.tty && started_) SendWindowSize();
      } else if (sig != SIGPIPE) {
        stop_signal_ = sig;
        if (!started_)
          throw Error(fmt::format("stopped by signal {} while starting", strsignal(sig)));
        if (stop_sent_at_) {
          throw Error(fmt::format("stopped by a second signal ({})", strsignal(sig)));
        }
        SendSignal(sig);
      }
    }
  }

  void Accept(size_t index) {
    Peer peer = AcceptPeer(forward_[index].second.get(), SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (!peer.fd.valid()) return;
    if (!peer.trusted) {
      // The socket inside would answer anyone: refuse here whom the host would.
      LogLine(fmt::format("hwkvm: {}: {}", forward_[index].first, RefusalText(peer)));
      const std::string answer = nlohmann::json{{"error", RefusalText(peer)}}.dump() + "\n";
      (void)!::send(peer.fd.get(), answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      return;
    }
    UniqueFd fd = std::move(peer.fd);
    if (!started_) return;  // nothing inside answers yet: the client sees the socket close
    const uint32_t id = next_stream_++;
    SendJson(MsgType::kOpen, id, nlohmann::json{{"path", forward_[index].first}});
    clients_[id].fd = std::move(fd);
  }

  void PumpClient(uint32_t id, short revents, std::vector<uint8_t>& buf) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    Client& c = it->second;
    bool gone = false;
    if (revents & POLLOUT) gone = !c.out.Flush(c.fd.get());
    if (!gone && !c.closing && (revents & (POLLIN | POLLHUP | POLLERR))) {
      const long n = ReadSome(c.fd.get(), buf);
      if (n > 0) Send(MsgType::kData, id, buf);
      if (n == 0) gone = true;
    }
    if (gone || (c.closing && c.out.empty())) {
      if (!c.closing) Send(MsgType::kClose, id, std::span<const uint8_t>{});
      clients_.erase(it);
    }
  }

  void StopQemu() {
    if (qemu_.pid <= 0) return;
    // After the command's status the agent powers the machine off.
    pollfd p{qemu_.pidfd.get(), POLLIN, 0};
    const bool exits =
        exit_status_ &&
        ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kPowerOffWait).count())) > 0;
    if (!exits) ::kill(qemu_.pid, SIGKILL);
    int ws = 0;
    ::waitpid(qemu_.pid, &ws, 0);
    DrainQemuOutput();
    qemu_.pid = -1;
  }

  const MachineOptions& o_;
  const ExecRequest& exec_;
  Clock::time_point start_;
  Qemu qemu_;
  UniqueFd serial_listen_, channel_listen_, serial_, channel_, signals_;
  std::vector<std::pair<std::string, UniqueFd>> forward_;
  std::vector<fs::path> made_dirs_;
  std::map<uint32_t, Client> clients_;
  uint32_t next_stream_ = 1;
  OutBuffer channel_out_, stdout_buf_, stderr_buf_;
  FrameDecoder decoder_;
  std::string serial_text_, qemu_text_;
  std::deque<std::string> log_;
  std::ofstream log_file_;
  bool ready_ = false;
  bool started_ = false;
  bool timed_out_ = false;
  bool qemu_exited_ = false;
  std::optional<Clock::time_point> stop_sent_at_;
  int stop_signal_ = 0;           // the last stop signal this process got
  Clock::time_point last_heard_;  // the agent's last frame

  std::optional<int> exit_status_;
};

}  // namespace

MachineRun RunInEmulatedMachine(const MachineOptions& options, const ExecRequest& exec) {
  Supervisor s(options, exec);
  return s.Run();
}

}  // namespace ssivm::emulated

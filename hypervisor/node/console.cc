#include "hypervisor/node/console.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/unique_fd.h"
#include "hypervisor/devices/uart16550.h"
#include "hypervisor/node/escape_filter.h"
#include "hypervisor/node/vm_stop.h"

namespace ssivm {
namespace {

// Writes everything; a socket without SIGPIPE. Output the reader no longer
// takes is dropped: the guest goes on.
void WriteAll(int fd, std::span<const uint8_t> bytes, bool socket) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = socket ? ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL)
                             : ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

bool IsSocket(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

// Hands bytes to the UART, waiting (not spinning) while its input queue is
// full, so that no typed byte is lost. Returns false if asked to shut down.
bool DeliverInput(Uart16550& uart, std::span<const uint8_t> bytes, const VmStop& stop) {
  while (!bytes.empty()) {
    const size_t n = uart.PushInput(bytes);
    bytes = bytes.subspan(n);
    if (bytes.empty()) break;
    if (stop.requested()) return false;
    uart.WaitForInputSpace(std::chrono::milliseconds(100));
  }
  return true;
}

UniqueFd MakeEventFd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) ThrowErrno("eventfd for the console");
  return fd;
}

void Signal(const UniqueFd& fd) {
  const uint64_t one = 1;
  (void)!::write(fd.get(), &one, sizeof(one));
}

// Console on this process's stdin/stdout.
class StdioConsole final : public Console {
 public:
  ~StdioConsole() override { Stop(); }

  void Output(std::span<const uint8_t> bytes) override {
    WriteAll(STDOUT_FILENO, bytes, stdout_is_socket_);
  }

  void Start(Uart16550& uart, VmStop& stop) override {
    shutdown_ = MakeEventFd();
    if (::isatty(STDIN_FILENO)) {
      termios t{};
      if (::tcgetattr(STDIN_FILENO, &t) == 0) {
        saved_ = t;
        cfmakeraw(&t);
        t.c_oflag |= OPOST | ONLCR;  // keep "\n" -> "\r\n" for guest output
        ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
        spdlog::info("console on this terminal; press Ctrl-A x to stop the VM");
      }
    }
    thread_ = std::thread([this, &uart, &stop] { Pump(uart, stop); });
  }

  void Stop() override {
    if (thread_.joinable()) {
      Signal(shutdown_);
      thread_.join();
    }
    if (saved_) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &*saved_);
      saved_.reset();
    }
  }

 private:
  const bool stdout_is_socket_ = IsSocket(STDOUT_FILENO);

  void Pump(Uart16550& uart, VmStop& stop) {
    EscapeFilter filter;
    const bool tty = saved_.has_value();
    std::vector<uint8_t> in(4096), out;
    for (;;) {
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {shutdown_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      const ssize_t n = ::read(STDIN_FILENO, in.data(), in.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // end of input: the guest keeps running
      out.clear();
      std::span<const uint8_t> got(in.data(), static_cast<size_t>(n));
      if (tty) {
        if (filter.Feed(got, out)) {
          stop.Request({kExitConsoleStop, "stopped from the console (Ctrl-A x)", false});
          return;
        }
      } else {
        out.assign(got.begin(), got.end());
      }
      if (!DeliverInput(uart, out, stop)) return;
    }
  }

  UniqueFd shutdown_;
  std::optional<termios> saved_;
  std::thread thread_;
};

// Console on a Unix socket: one client at a time; output produced while no
// client is attached is kept (the last 64 KiB) and replayed on attach.
class SocketConsole final : public Console {
 public:
  explicit SocketConsole(std::string path) : path_(std::move(path)) {
    sockaddr_un addr{};
    if (path_.size() >= sizeof(addr.sun_path)) {
      throw Error(fmt::format("console socket path {} is longer than {} bytes", path_,
                              sizeof(addr.sun_path) - 1));
    }
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        throw Error(fmt::format("console socket path {} exists and is not a socket", path_));
      }
      ::unlink(path_.c_str());  // a stale socket from an earlier run
    }
    listen_.Reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listen_.valid()) ThrowErrno("console socket");
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ThrowErrno(fmt::format("bind console socket {}", path_));
    }
    if (::listen(listen_.get(), 2) != 0) ThrowErrno(fmt::format("listen on {}", path_));
  }
  ~SocketConsole() override {
    Stop();
    ::unlink(path_.c_str());
  }

  void Output(std::span<const uint8_t> bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    scrollback_.insert(scrollback_.end(), bytes.begin(), bytes.end());
    while (scrollback_.size() > kScrollback) scrollback_.pop_front();
    if (client_.valid()) WriteAll(client_.get(), bytes, true);
  }

  void Start(Uart16550& uart, VmStop& stop) override {
    shutdown_ = MakeEventFd();
    spdlog::info("console on socket {}; attach with: ssictl console {}", path_, path_);
    thread_ = std::thread([this, &uart, &stop] { Pump(uart, stop); });
  }

  void Stop() override {
    if (thread_.joinable()) {
      Signal(shutdown_);
      thread_.join();
    }
  }

 private:
  static constexpr size_t kScrollback = size_t{64} * 1024;

  void Attach(UniqueFd fd) {
    std::lock_guard<std::mutex> lock(mu_);
    if (client_.valid()) {
      static const char kBusy[] = "ssivm: another console client is attached\r\n";
      WriteAll(fd.get(), {reinterpret_cast<const uint8_t*>(kBusy), sizeof(kBusy) - 1}, true);
      return;
    }
    std::vector<uint8_t> replay(scrollback_.begin(), scrollback_.end());
    WriteAll(fd.get(), replay, true);
    client_ = std::move(fd);
  }

  void Pump(Uart16550& uart, VmStop& stop) {
    std::vector<uint8_t> in(4096);
    for (;;) {
      int client;
      {
        std::lock_guard<std::mutex> lock(mu_);
        client = client_.get();
      }
      pollfd fds[3] = {
          {shutdown_.get(), POLLIN, 0}, {listen_.get(), POLLIN, 0}, {client, POLLIN, 0}};
      if (::poll(fds, client >= 0 ? 3 : 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents) return;
      if (fds[1].revents) {
        UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (fd.valid()) Attach(std::move(fd));
      }
      if (client >= 0 && fds[2].revents) {
        const ssize_t n = ::read(client, in.data(), in.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          std::lock_guard<std::mutex> lock(mu_);
          client_.Reset();
          continue;
        }
        if (!DeliverInput(uart, {in.data(), static_cast<size_t>(n)}, stop)) return;
      }
    }
  }

  std::string path_;
  UniqueFd listen_;
  UniqueFd shutdown_;
  std::mutex mu_;
  UniqueFd client_;
  std::deque<uint8_t> scrollback_;
  std::thread thread_;
};

class NullConsole final : public Console {
 public:
  void Output(std::span<const uint8_t>) override {}
  void Start(Uart16550&, VmStop&) override {}
  void Stop() override {}
};

}  // namespace

ConsoleSpec ParseConsoleSpec(const std::string& spec) {
  if (spec == "stdio") return {ConsoleSpec::Kind::kStdio, ""};
  if (spec == "none") return {ConsoleSpec::Kind::kNone, ""};
  if (spec.rfind("socket:", 0) == 0 && spec.size() > 7) {
    return {ConsoleSpec::Kind::kSocket, spec.substr(7)};
  }
  throw Error(fmt::format("bad console '{}': use stdio, none or socket:PATH", spec));
}

std::unique_ptr<Console> MakeConsole(const ConsoleSpec& spec) {
  switch (spec.kind) {
    case ConsoleSpec::Kind::kStdio:
      return std::make_unique<StdioConsole>();
    case ConsoleSpec::Kind::kSocket:
      return std::make_unique<SocketConsole>(spec.socket_path);
    case ConsoleSpec::Kind::kNone:
      return std::make_unique<NullConsole>();
  }
  return nullptr;
}

}  // namespace ssivm

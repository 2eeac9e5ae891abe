#include "hypervisor/node/console.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

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
#include "common/unix_socket.h"
#include "hypervisor/devices/uart16550.h"
#include "hypervisor/node/console_output.h"
#include "hypervisor/node/escape_filter.h"
#include "hypervisor/node/vm_stop.h"

namespace ssivm {
namespace {

// How long Stop writes the output left (the guest's last words) to a reader
// that takes it slowly; one that takes nothing loses it.
constexpr auto kFinalOutputGrace = std::chrono::seconds(2);

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
  StdioConsole() { out_.SetTarget(NonBlockingWriterFor(STDOUT_FILENO)); }
  ~StdioConsole() override { Stop(); }

  void Output(std::span<const uint8_t> bytes) override { out_.Write(bytes); }
  uint64_t dropped_bytes() const override { return out_.dropped(); }
  bool on_terminal() const override { return saved_.has_value(); }

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
    out_.Close(kFinalOutputGrace);
    if (saved_) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &*saved_);
      saved_.reset();
    }
  }

 private:
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

  ConsoleOutput out_;
  UniqueFd shutdown_;
  std::optional<termios> saved_;
  std::thread thread_;
};

// Console on a Unix socket (mode 0600; only root and this user may attach):
// one client at a time; output produced while no client is attached is kept
// (the last 64 KiB) and replayed on attach.
class SocketConsole final : public Console {
 public:
  explicit SocketConsole(std::string path)
      : path_(std::move(path)), listen_(ListenPrivate(path_, "console socket", 2)) {}
  ~SocketConsole() override {
    Stop();
    ::unlink(path_.c_str());
  }

  void Output(std::span<const uint8_t> bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    scrollback_.insert(scrollback_.end(), bytes.begin(), bytes.end());
    while (scrollback_.size() > kScrollback) scrollback_.pop_front();
    out_.Write(bytes);  // to the client, if one is attached
  }
  uint64_t dropped_bytes() const override { return out_.dropped(); }
  bool on_terminal() const override { return false; }

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
    out_.Close(kFinalOutputGrace);
  }

 private:
  static constexpr size_t kScrollback = size_t{64} * 1024;

  static void Tell(int fd, const std::string& text) {
    (void)!::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }

  void Attach(Peer peer) {
    if (!peer.trusted) {
      spdlog::warn("console socket {}: {}", path_, RefusalText(peer));
      Tell(peer.fd.get(), "ssivm: " + RefusalText(peer) + "\r\n");
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (client_.valid()) {
      Tell(peer.fd.get(), "ssivm: another console client is attached\r\n");
      return;
    }
    const std::vector<uint8_t> replay(scrollback_.begin(), scrollback_.end());
    out_.SetTarget(NonBlockingWriterFor(peer.fd.get()), replay);
    client_ = std::move(peer.fd);
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
        Peer peer = AcceptPeer(listen_.get());
        if (peer.fd.valid()) Attach(std::move(peer));
      }
      if (client >= 0 && fds[2].revents) {
        const ssize_t n = ::read(client, in.data(), in.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          std::lock_guard<std::mutex> lock(mu_);
          out_.SetTarget({});
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
  ConsoleOutput out_;
  std::thread thread_;
};

class NullConsole final : public Console {
 public:
  void Output(std::span<const uint8_t>) override {}
  void Start(Uart16550&, VmStop&) override {}
  void Stop() override {}
  uint64_t dropped_bytes() const override { return 0; }
  bool on_terminal() const override { return false; }
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

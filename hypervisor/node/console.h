// Where the guest's serial console goes: this process's terminal (stdio), a
// Unix socket that `ssictl console` attaches to, or nowhere.
#ifndef SSIVM_HYPERVISOR_NODE_CONSOLE_H_
#define SSIVM_HYPERVISOR_NODE_CONSOLE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ssivm {

class Uart16550;
class VmStop;

struct ConsoleSpec {
  enum class Kind { kStdio, kSocket, kNone } kind = Kind::kStdio;
  std::string socket_path;
};

// "stdio", "none" or "socket:PATH"; throws Error naming the bad spec.
ConsoleSpec ParseConsoleSpec(const std::string& spec);

class Console {
 public:
  virtual ~Console() = default;
  // Guest output (called from vCPU threads and the device node's
  // forwarded-I/O worker). Never waits for the reader (console_output.h):
  // what it cannot take in time is dropped and counted.
  virtual void Output(std::span<const uint8_t> bytes) = 0;
  // Starts delivering input to the UART; may request a stop (e.g. Ctrl-A x).
  virtual void Start(Uart16550& uart, VmStop& stop) = 0;
  // Stops the input thread, writes what output is left (for a moment at
  // most) and restores the terminal. Idempotent.
  virtual void Stop() = 0;
  // Guest output bytes dropped because the reader did not take them.
  virtual uint64_t dropped_bytes() const = 0;
  // Whether the console is this process's terminal (after Start): a hangup
  // (SIGHUP) then means the console is lost.
  virtual bool on_terminal() const = 0;
};

std::unique_ptr<Console> MakeConsole(const ConsoleSpec& spec);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CONSOLE_H_

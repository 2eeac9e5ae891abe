// The channel between the supervisor (on the host, beside QEMU) and the
// agent (pid 1 inside the emulated machine), carried by one virtio-serial
// port: framed messages that start the command, carry its stdio, signals
// and window size, report its exit status, and multiplex connections to
// Unix sockets inside the machine (control and console sockets).
//
// Frame: u16 type, u16 reserved (0), u32 stream, u32 payload length (all
// little-endian), then the payload. Control payloads are JSON objects; data
// payloads are raw bytes. The decoder trusts nothing: a bad frame is an
// Error naming the problem. Pure logic.
#ifndef SSIVM_HYPERVISOR_EMULATED_CHANNEL_PROTOCOL_H_
#define SSIVM_HYPERVISOR_EMULATED_CHANNEL_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ssivm::emulated {

enum class MsgType : uint16_t {
  // agent -> supervisor
  kReady = 1,       // JSON {kvm: bool, detail: str}: the machine is up
  kStdout = 2,      // bytes of the command's stdout (or its terminal)
  kStderr = 3,      // bytes of its stderr
  kExit = 4,        // JSON {status: int}: the command ended
  kOpenFailed = 5,  // JSON {error: str}: stream's socket could not be reached
  kAlive = 6,       // empty, every kAliveInterval: the machine still runs

  // supervisor -> agent
  kExec = 16,      // JSON ExecRequest
  kStdin = 17,     // bytes for the command's stdin
  kStdinEof = 18,  // no more stdin
  kSignal = 19,    // JSON {signal: int}: deliver to the command's process group
  kWinSize = 20,   // JSON {rows, cols}
  kOpen = 21,      // JSON {path: str}: connect stream to this Unix socket
  // both ways
  kData = 32,   // bytes on a stream
  kClose = 33,  // the stream ended
};

// How often the agent says it is alive; the supervisor gives up on a machine
// that said nothing for MachineOptions::stall_timeout (a hung kernel).
inline constexpr int kAliveIntervalMs = 5000;

inline constexpr size_t kFrameHeaderSize = 12;

inline constexpr uint32_t kMaxPayload = 1u << 20;

struct Frame {
  MsgType type = MsgType::kData;
  uint32_t stream = 0;
  std::vector<uint8_t> payload;

  std::string text() const { return {payload.begin(), payload.end()}; }
  // The payload as a JSON object (Error if it is not one).
  nlohmann::json Json() const;
};

const char* MsgTypeName(MsgType t);

std::vector<uint8_t> EncodeFrame(MsgType type, uint32_t stream, std::span<const uint8_t> payload);
std::vector<uint8_t> EncodeJsonFrame(MsgType type, uint32_t stream, const nlohmann::json& payload);

// Reassembles frames from a byte stream fed in pieces of any size.
class FrameDecoder {
 public:
  void Feed(std::span<const uint8_t> bytes);
  // The next complete frame, if any; throws Error on a malformed one (the
  // stream cannot be trusted afterwards).
  std::optional<Frame> Next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
};

// What the agent runs.
struct ExecRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value"
  std::string cwd = "/";
  bool tty = false;  // a pseudo-terminal for stdio (else pipes)
  uint16_t rows = 0, cols = 0;
  // Keep the machine up after the command ends, until its last process
  // exits (the command started daemons, e.g. detached node processes).
  bool linger = false;
};

nlohmann::json ToJson(const ExecRequest& r);
// Error naming the bad field.
ExecRequest ExecRequestFromJson(const nlohmann::json& j);

// Reads a field of a control payload, Error naming it if it is missing or
// of another type.
int64_t JsonInt(const nlohmann::json& j, const char* key, int64_t min, int64_t max);
std::string JsonString(const nlohmann::json& j, const char* key);

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_CHANNEL_PROTOCOL_H_

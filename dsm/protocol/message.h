// DSM wire messages between node processes, and their defensive codec.
//
// Frame = 16-byte header + payload, little-endian:
//   u32 magic "SSID", u8 version, u8 type, u16 flags (0), u32 payload bytes,
//   u32 sender node id.
// Every type has one exact payload size; anything else is rejected.
#ifndef SSIVM_DSM_PROTOCOL_MESSAGE_H_
#define SSIVM_DSM_PROTOCOL_MESSAGE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "guest/abi/page.h"

namespace ssivm::dsm {

inline constexpr uint32_t kMagic = 0x44495353;  // "SSID"
inline constexpr uint8_t kProtocolVersion = 2;  // 2: Shutdown names its origin
inline constexpr size_t kHeaderSize = 16;
inline constexpr uint32_t kMaxPayload = abi::kPageSize + 64;

using NodeId = uint32_t;
using PageNumber = uint64_t;  // guest-physical address >> 12
using PageData = std::array<uint8_t, abi::kPageSize>;

enum class Access : uint8_t { kRead = 1, kWrite = 2 };
enum class DataKind : uint8_t { kNone = 0, kZero = 1, kBytes = 2 };

// Connection handshake: both sides send one and check the other's.
struct Hello {
  uint64_t cluster_id;
  uint32_t protocol_version;
  NodeId node_id;
  uint64_t epoch;
};
// Requester -> home.
struct GetShared {
  PageNumber page;
};
struct GetModified {
  PageNumber page;
};
// Home -> sharer, and its answer.
struct Invalidate {
  PageNumber page;
};
struct InvalidateAck {
  PageNumber page;
};
// Home -> exclusive owner: give the data back (keep a read-only copy or not).
struct Forward {
  PageNumber page;
  Access want;
};
// Owner -> home, with the page's contents.
struct WriteBack {
  PageNumber page;
  bool kept_read_only;
  PageData data;
};
// Home -> requester: the access is granted, with or without data.
struct Grant {
  PageNumber page;
  Access access;
  DataKind kind;
  PageData data;  // meaningful for kBytes only (not sent otherwise)
};

// ---- Node control (not coherence) -------------------------------------------
// Deliver a fixed interrupt to a vCPU this node runs (PV IPI forwarding).
struct InterruptRequest {
  uint32_t vcpu;
  uint8_t vector;
};
// A port access by a vCPU of the sender, for a device that lives on the
// receiver (I/O forwarding); answered by IoReply with the same sequence.
struct IoRequest {
  uint64_t seq;
  uint32_t vcpu;
  uint16_t port;
  uint8_t size;  // 1, 2 or 4
  bool write;
  uint32_t data;
};
struct IoReply {
  uint64_t seq;
  uint32_t data;
};
// The guest stopped (or a node failed): every node stops with this status.
// A node that stops because of a peer's Shutdown relays it (same origin) to
// the others before it closes: its connection closing must not look like a
// death to a node that has not read the origin's Shutdown yet.
struct Shutdown {
  int32_t status;
  NodeId origin;  // the node where the stop began
};

using Message = std::variant<Hello, GetShared, GetModified, Invalidate, InvalidateAck, Forward,
                             WriteBack, Grant, InterruptRequest, IoRequest, IoReply, Shutdown>;

const char* MessageName(const Message& m);

struct Frame {
  NodeId sender;
  Message message;
};

// Appends the encoded frame to `out`.
void Encode(NodeId sender, const Message& m, std::vector<uint8_t>& out);

// The payload size the header announces, after checking the header alone
// (for stream transports that read the header first). Throws Error.
uint32_t PayloadSize(std::span<const uint8_t, kHeaderSize> header);

// Decodes exactly one whole frame. Throws Error naming the problem (bad
// magic, version, type, size, field value); never reads out of bounds.
Frame Decode(std::span<const uint8_t> frame);

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_PROTOCOL_MESSAGE_H_

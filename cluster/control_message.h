// Node-control messages (not coherence) on the transport's control channel:
// interrupts and port I/O forwarded to the node that runs the vCPU or hosts
// the device, the stop of the whole VM, and vCPU migration. Payload: u8 type
// + the type's fields (little-endian, one exact size per type); only a
// VcpuStatePart comes with a page (its bytes of the state).
#ifndef SSIVM_CLUSTER_CONTROL_MESSAGE_H_
#define SSIVM_CLUSTER_CONTROL_MESSAGE_H_

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "cluster/transport/transport.h"

namespace ssivm::cluster {

// Deliver a fixed interrupt to a vCPU this node runs (PV IPI forwarding).
// A node that no longer runs it (it moved) passes it on, counting `hops`.
struct InterruptRequest {
  uint32_t vcpu;
  uint8_t vector;
  uint8_t hops = 0;
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

// vCPU migration (hypervisor/node/vcpu_migrator.h). `id` names one move;
// `epoch` is the view epoch the move was decided on (the view after it has
// epoch + 1).
// Coordinator -> the node that runs `vcpu`: pause it, send its state to `to`.
struct MigrateOut {
  uint64_t id;
  uint32_t vcpu;
  NodeId to;
  uint64_t epoch;
};
// Source -> target: bytes [offset, offset + length) of the vCPU's encoded
// state, in the frame's page; the part that reaches `total` completes it.
// `paused_at_ns`: when the vCPU stopped, `captured_at_ns`: when its state
// was captured and encoded (CLOCK_REALTIME; the downtime and its phases).
struct VcpuStatePart {
  uint64_t id;
  uint32_t vcpu;
  uint64_t epoch;
  uint32_t total;
  uint32_t offset;
  uint32_t length;
  uint64_t paused_at_ns;
  uint64_t captured_at_ns;
};
// Target -> every other node: `vcpu` runs on `to` from view epoch + 1 on
// (`state_bytes`: the encoded state it received). The downtime's phases:
// `capture_ns` pause to encoded state on the source, `transfer_ns` from
// there to the last part's arrival; the rest is the target's restore.
struct VcpuMoved {
  uint64_t id;
  uint32_t vcpu;
  NodeId from;
  NodeId to;
  uint64_t epoch;
  uint64_t downtime_ns;
  uint32_t state_bytes;
  uint64_t capture_ns;
  uint64_t transfer_ns;
};
// Source -> coordinator: move `id` did not happen (nothing changed); `why`:
// kMoveBusy, the vCPU kept an event in delivery for the whole attempt.
struct MoveFailed {
  static constexpr uint8_t kMoveBusy = 1;
  uint64_t id;
  uint32_t vcpu;
  uint8_t why;
};
// A node -> the coordinator: it routes by the view after move `id`.
struct ViewApplied {
  uint64_t id;
  uint64_t epoch;
};
// A node -> the coordinator: how many pages `vcpu` waited for from node
// `from` since it started on the sender (placement's input; cumulative).
struct PagesPulled {
  uint32_t vcpu;
  NodeId from;
  uint64_t pages;
};

using ControlMessage = std::variant<InterruptRequest, IoRequest, IoReply, Shutdown, MigrateOut,
                                    VcpuStatePart, VcpuMoved, ViewApplied, PagesPulled, MoveFailed>;

const char* ControlMessageName(const ControlMessage& m);
std::vector<uint8_t> EncodeControl(const ControlMessage& m);
// Throws Error naming the problem (bad type, size or field value).
ControlMessage DecodeControl(std::span<const uint8_t> payload);
// Sends `m` to `to` on the control channel (`page`: a VcpuStatePart's bytes).
void SendControl(Transport& transport, NodeId to, const ControlMessage& m,
                 const PageBuffer& page = {});

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_CONTROL_MESSAGE_H_

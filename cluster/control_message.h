// Node-control messages (not coherence) on the transport's control channel:
// interrupts and port I/O forwarded to the node that runs the vCPU or hosts
// the device, and the stop of the whole VM. Payload: u8 type + the type's
// fields (little-endian, one exact size per type); never a page.
#ifndef SSIVM_CLUSTER_CONTROL_MESSAGE_H_
#define SSIVM_CLUSTER_CONTROL_MESSAGE_H_

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "cluster/transport/transport.h"

namespace ssivm::cluster {

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

using ControlMessage = std::variant<InterruptRequest, IoRequest, IoReply, Shutdown>;

const char* ControlMessageName(const ControlMessage& m);
std::vector<uint8_t> EncodeControl(const ControlMessage& m);
// Throws Error naming the problem (bad type, size or field value).
ControlMessage DecodeControl(std::span<const uint8_t> payload);
// Sends `m` to `to` on the control channel.
void SendControl(Transport& transport, NodeId to, const ControlMessage& m);

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_CONTROL_MESSAGE_H_

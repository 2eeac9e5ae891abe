// How node processes exchange messages. A transport moves frames between
// members: each frame belongs to a channel (the DSM's coherence messages, the
// cluster's control messages) whose handler decodes it, and may carry one
// guest page, which arrives in a pooled PageBuffer (no copy beyond the one
// from the network into the buffer). The DSM and the node only see this
// interface, so RDMA can replace TCP behind MakeTransport.
#ifndef SSIVM_CLUSTER_TRANSPORT_TRANSPORT_H_
#define SSIVM_CLUSTER_TRANSPORT_TRANSPORT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cluster/transport/security.h"
#include "common/page_buffer.h"

namespace ssivm::cluster {

using NodeId = uint32_t;

// Channel 0 is the transport's own (the handshake). Peer losses are
// reported to the handlers in this order: control first.
enum class Channel : uint8_t { kHandshake = 0, kControl = 1, kCoherence = 2 };
inline constexpr uint8_t kChannelCount = 3;
const char* ChannelName(Channel c);

struct NodeAddress {
  NodeId id;
  std::string host;  // IPv4 address
  uint16_t port;
  std::string Describe() const;
};

enum class TransportKind : uint8_t { kTcp };

struct TransportConfig {
  TransportKind kind = TransportKind::kTcp;
  uint64_t cluster_id = 0;
  uint64_t epoch = 0;
  NodeId self = 0;
  std::vector<NodeAddress> nodes;  // every member, this node included
  // Who may connect (the holders of `secret`) and how frames are sealed.
  TransportSecurity security = TransportSecurity::kEncrypted;
  ClusterSecret secret{};
  // How long a connection may take to pass its handshake (and the whole
  // mesh to form at the start).
  std::chrono::milliseconds connect_timeout{30000};
  // Stop() lets queued frames go out for this long (so that a Shutdown sent
  // just before reaches the peers), then closes regardless.
  std::chrono::milliseconds flush_timeout{2000};
  // A peer with this much queued and unsent is not reading: Send fails.
  size_t max_queued_bytes = size_t{512} << 20;
  // A peer that sends nothing for this long is lost (hung, stopped, or cut
  // off): each side sends a heartbeat when it sent nothing for a quarter of
  // it. Zero: no heartbeats.
  std::chrono::milliseconds heartbeat_timeout{5000};
};

// One connection as seen from this node (`ssictl status`).
struct LinkStatus {
  NodeId peer = 0;
  std::string address;        // host:port
  int64_t heard_ms_ago = 0;   // since the last frame from the peer
  int64_t sent_ms_ago = 0;    // since the last frame to it
  uint64_t queued_bytes = 0;  // accepted by Send, not yet on the wire
};

class ChannelHandler {
 public:
  virtual ~ChannelHandler() = default;
  // One frame from a peer on this handler's channel, in the order that peer
  // sent it. `payload` is valid during the call only; `page` is the page that
  // came with it (or none). Called on the transport's receive thread; must
  // not block on the network. Throws Error if the payload is not a valid
  // message: the transport then drops the peer, naming the error.
  virtual void OnReceive(NodeId from, std::span<const uint8_t> payload, PageBuffer page) = 0;
  // The frames one read from a peer brought were all given to OnReceive: a
  // handler that gathers frames to handle them together does so now (its
  // sends, like OnReceive's, are written once this returns). Same thread.
  // Errors are the handler's to report: nothing may escape.
  virtual void OnBatchEnd() noexcept {}
  // The peer is gone (closed, died, or sent something that is not valid
  // protocol); nothing more comes from it. `reason` names the peer and why.
  virtual void OnPeerLost(NodeId peer, const std::string& reason) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Where frames of `channel` go; set before Start (the handler must outlive
  // the transport). A frame on a channel without a handler loses its peer.
  virtual void SetHandler(Channel channel, ChannelHandler* handler) = 0;
  virtual void Start() = 0;
  // Thread-safe; frames to one peer arrive in the order sent, across
  // channels (FIFO per peer; nothing is promised across peers). Never blocks
  // on the network: callers send while holding their own locks, from a
  // receive callback too, so an implementation queues what it cannot hand to
  // the network at once (TCP: a per-peer out-queue; RDMA: posted sends). The
  // payload is copied before Send returns; the page is shared, not copied,
  // and must not change afterwards. Throws Error naming the peer once the
  // transport is stopped, or if the peer stopped reading. A frame to a peer
  // whose connection broke is dropped: the receive side reports the loss,
  // after what the peer sent before (a Shutdown that stops the VM normally
  // must not lose a race with an acknowledgement sent to it).
  virtual void Send(NodeId to, Channel channel, std::span<const uint8_t> payload,
                    const PageBuffer& page = {}) = 0;
  // Between Cork and the matching Uncork (they nest), this thread's Sends
  // are queued in order but not written; the outermost Uncork writes them
  // with as few socket writes as it can. A thread about to send several
  // frames at once (a fault and the pages fetched ahead of it, the answers to
  // a batch of received requests) corks them. Sends of other threads are not
  // held back, and may take the corked frames with them. See SendBatch.
  virtual void Cork() {}
  virtual void Uncork() noexcept {}
  // Makes `peer` a member at runtime (a node that joins: the view with it has
  // `epoch`, which this node's handshakes carry from now on). Connects to it
  // (a lower id: this node dials) or lets it connect (a higher id: it dials
  // every member), and returns once the connection passed its handshake.
  // Throws Error naming the peer if that does not happen within the connect
  // timeout, or if it is a peer already.
  virtual void AddPeer(const NodeAddress& peer, uint64_t epoch) = 0;
  // Closes the connection to a peer that leaves, after what is queued to it
  // went out (bounded by the flush timeout). No loss is reported. Throws
  // Error if it is not a peer.
  virtual void RemovePeer(NodeId id) = 0;
  // Stops receiving and closes every connection. Idempotent.
  virtual void Stop() = 0;
  // Received pages come from this pool; senders take theirs from it too, so
  // a node counts its page copies in one place.
  virtual PagePool& pages() = 0;
  // Every peer's connection, ascending ids. Thread-safe.
  virtual std::vector<LinkStatus> Links() const = 0;
};

// Corks `transport`'s sends of this thread for the scope.
class SendBatch {
 public:
  explicit SendBatch(Transport& transport) : transport_(transport) { transport_.Cork(); }
  ~SendBatch() { transport_.Uncork(); }
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

 private:
  Transport& transport_;
};

// The transport `config.kind` names, connected to every member: binds this
// node's address, then blocks until each peer is connected and has passed
// the handshake. Throws Error naming the peers missing at the timeout or
// the mismatch a peer showed. A node without a transport address (a VM
// started without a manifest: the one member) gets a transport with no wire.
std::unique_ptr<Transport> MakeTransport(const TransportConfig& config);

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_TRANSPORT_H_

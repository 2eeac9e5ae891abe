// How nodes exchange DSM messages. The protocol logic only sees this
// interface, so an RDMA (libfabric) transport can replace TCP without
// touching it.
#ifndef SSIVM_DSM_TRANSPORT_TRANSPORT_H_
#define SSIVM_DSM_TRANSPORT_TRANSPORT_H_

#include <string>

#include "dsm/protocol/message.h"

namespace ssivm::dsm {

class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // One message from a peer, in the order that peer sent it. Called on the
  // transport's receive thread; must not block on the network.
  virtual void OnMessage(NodeId from, Message message) = 0;
  // The peer is gone (closed, died, or sent something that is not valid
  // protocol); nothing more comes from it. `reason` names the peer and why.
  virtual void OnPeerLost(NodeId peer, const std::string& reason) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Starts delivering to `handler` (which must outlive the transport).
  virtual void Start(TransportHandler* handler) = 0;
  // Thread-safe; messages to one peer arrive in the order sent (FIFO per
  // peer; nothing is promised across peers). Never blocks on the network:
  // callers send while holding their own locks, from the receive callback
  // too, so an implementation queues what it cannot hand to the network at
  // once (TCP: a per-peer out-queue; RDMA: posted sends). The message is
  // copied before Send returns. Throws Error naming the peer once the
  // transport is stopped, or if the peer stopped reading. A message to a
  // peer whose connection broke is dropped: the receive side reports the
  // loss, after what the peer sent before (a Shutdown that stops the VM
  // normally must not lose a race with an acknowledgement sent to it).

  virtual void Send(NodeId to, const Message& message) = 0;
  // Stops receiving and closes every connection. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_TRANSPORT_TRANSPORT_H_

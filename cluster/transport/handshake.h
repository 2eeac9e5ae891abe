// The connection handshake: a mutual challenge-response keyed with the
// cluster secret, and the messages of the transport's own channel.
//
//   dialer   -> acceptor  Hello   (cluster id, epoch, node id, security, nonce D)
//   acceptor -> dialer    Reply   (the same of its own, nonce A,
//                                  MAC_K("reply" | Hello | Reply fields))
//   dialer   -> acceptor  Finish  (MAC_K("finish" | Hello | Reply fields))
//
// MAC_K is keyed BLAKE2b with the cluster secret K. The Reply proves to the
// dialer that the acceptor holds K (its MAC covers the dialer's fresh nonce);
// the Finish proves the same of the dialer (it covers the acceptor's), so a
// recorded handshake replayed to a node fails. Each side then derives the
// connection's two frame keys from K and both nonces. An acceptor says
// nothing before the dialer's Hello, and answers a Hello that does not match
// its cluster (id, epoch, security) with a Reply whose fields name the
// mismatch and no valid MAC, so that a misconfigured dialer can say what is
// wrong. Pure logic: no sockets.
#ifndef SSIVM_CLUSTER_TRANSPORT_HANDSHAKE_H_
#define SSIVM_CLUSTER_TRANSPORT_HANDSHAKE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cluster/transport/frame.h"
#include "cluster/transport/security.h"

namespace ssivm::cluster {

// The first byte of every payload on the transport's own channel.
enum class HandshakeKind : uint8_t {
  kHello = 1,
  kReply = 2,
  kFinish = 3,
  kGoodbye = 4,    // the last frame of a peer that leaves in order
  kHeartbeat = 5,  // "still here", when nothing else was sent for a while
};

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMacBytes = 32;

// What both ends of a connection must agree on, and this end's secret.
struct HandshakeConfig {
  uint64_t cluster_id = 0;
  uint64_t epoch = 0;
  NodeId self = 0;
  TransportSecurity security = TransportSecurity::kEncrypted;
  ClusterSecret secret{};
};

// The keys a connection's frames are sealed with, one per direction.
struct SessionKeys {
  ClusterSecret send{};
  ClusterSecret receive{};
};

// What a Hello or Reply says of its sender.
struct HelloFields {
  uint64_t cluster_id = 0;
  uint32_t protocol_version = 0;
  NodeId node_id = 0;
  uint64_t epoch = 0;
  TransportSecurity security = TransportSecurity::kNone;
  std::array<uint8_t, kNonceBytes> nonce{};
};

// One frame of the transport's own channel without fields: Goodbye, Heartbeat.
std::vector<uint8_t> EncodeSignal(HandshakeKind kind, NodeId sender);
// The kind of a payload on the transport's own channel once connected
// (Goodbye or Heartbeat). Throws Error for anything else.
HandshakeKind DecodeSignal(std::span<const uint8_t> payload);

// "" if `theirs` may talk to a node with `mine`, else what differs, from the
// point of view of the node with `mine` ("has manifest epoch 4, this node 3").
std::string Mismatch(const HelloFields& theirs, const HandshakeConfig& mine);

class DialerHandshake {
 public:
  explicit DialerHandshake(const HandshakeConfig& config);
  // The first frame (header and payload).
  std::vector<uint8_t> Hello() const;
  // Checks the acceptor's Reply: that it is node `expected`, of this cluster,
  // and holds the secret. Returns the Finish frame. Throws Error naming what
  // is wrong.
  std::vector<uint8_t> OnReply(const FrameHeader& header, std::span<const uint8_t> payload,
                               NodeId expected);
  // After OnReply threw: whether trying again later may succeed (the
  // acceptor is at another epoch only: it has not applied the view with
  // this node yet).
  bool retry() const { return retry_; }
  // After OnReply.
  const SessionKeys& keys() const { return keys_; }

 private:
  HandshakeConfig config_;
  std::vector<uint8_t> hello_;  // payload
  SessionKeys keys_;
  bool retry_ = false;
};

class AcceptorHandshake {
 public:
  explicit AcceptorHandshake(const HandshakeConfig& config);
  // Reads the dialer's Hello. Throws Error if it is not a well-formed Hello.
  // Then `mismatch()` says whether it may join at all, `peer()` who it says
  // it is; either way `Reply()` is the answer.
  void OnHello(const FrameHeader& header, std::span<const uint8_t> payload);
  NodeId peer() const { return theirs_.node_id; }
  const std::string& mismatch() const { return mismatch_; }
  std::vector<uint8_t> Reply() const;
  // Checks the dialer's Finish: it holds the secret and answered this
  // handshake's nonce. Throws Error if not.
  void OnFinish(const FrameHeader& header, std::span<const uint8_t> payload);
  const SessionKeys& keys() const { return keys_; }

 private:
  HandshakeConfig config_;
  HelloFields theirs_;
  std::string mismatch_;
  std::vector<uint8_t> hello_;  // the dialer's payload
  std::vector<uint8_t> reply_;  // payload, without its MAC
  SessionKeys keys_;
};

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_HANDSHAKE_H_

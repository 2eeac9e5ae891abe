// Sealing the frames of one connection after its handshake: each part of a
// frame (header with payload; the page) gets a ChaCha20-Poly1305 tag, and
// with TransportSecurity::kEncrypted its bytes are encrypted. The nonce is
// the count of parts sealed in that direction, never sent: TCP delivers in
// order, so a part that is replayed, dropped or reordered fails to open.
//
// On the wire, with security other than kNone:
//   header (16, in clear, authenticated) | payload | tag (16) [| page | tag (16)]
// Pure logic, no sockets.
#ifndef SSIVM_CLUSTER_TRANSPORT_FRAME_SEAL_H_
#define SSIVM_CLUSTER_TRANSPORT_FRAME_SEAL_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/transport/frame.h"
#include "cluster/transport/security.h"
#include "common/page_buffer.h"

namespace ssivm::cluster {

inline constexpr size_t kTagBytes = 16;
using Tag = std::array<uint8_t, kTagBytes>;

// One direction of one connection: the sender's seals, the receiver's opens,
// in the same order.
class FrameSeal {
 public:
  FrameSeal(TransportSecurity security, const ClusterSecret& key);
  // Bytes each sealed part grows by: 0 without security.
  size_t tag_bytes() const { return security_ == TransportSecurity::kNone ? 0 : kTagBytes; }

  // `head` is a frame's header and payload: appends the tag (encrypting the
  // payload in place).
  void SealHead(std::vector<uint8_t>& head);
  // The page's tag. Encrypting: the ciphertext goes to `out` (the page
  // itself may be shared: it never changes); otherwise `out` is `page`.
  Tag SealPage(const PageBuffer& page, PageBuffer& out, PagePool& pool);

  // Checks (and decrypts in place) a received payload and its tag. Throws
  // Error if the tag does not match.
  void OpenPayload(std::span<const uint8_t, kFrameHeaderSize> header, std::span<uint8_t> payload,
                   std::span<const uint8_t, kTagBytes> tag);
  void OpenPage(std::span<uint8_t> page, std::span<const uint8_t, kTagBytes> tag);

 private:
  std::array<uint8_t, 12> NextNonce();

  TransportSecurity security_;
  ClusterSecret key_;
  uint64_t count_ = 0;
};

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_FRAME_SEAL_H_

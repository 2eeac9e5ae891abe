// The frame every transport message travels in (the handshake and the
// sealing of frames: handshake.h, frame_seal.h).
//
// Frame = 16-byte header + payload [+ one 4 KiB page], little-endian:
//   u32 magic "SSID", u8 version, u8 channel, u16 flags (bit 0: a page
//   follows the payload), u32 payload bytes (the page not included),
//   u32 sender node id.
// Payloads are small (the page travels beside them, never inside), so a
// receiver reads the header, then the payload, then lands the page straight
// in its buffer.
#ifndef SSIVM_CLUSTER_TRANSPORT_FRAME_H_
#define SSIVM_CLUSTER_TRANSPORT_FRAME_H_

#include <cstdint>
#include <span>
#include <vector>

#include "cluster/transport/transport.h"

namespace ssivm::cluster {

inline constexpr uint32_t kFrameMagic = 0x44495353;  // "SSID"
// 2: Shutdown names its origin. 3: channels; pages beside the payload.
// 4: authenticated handshake, sealed frames, heartbeats. 5: DSM eviction
// (PutShared, PutModified).
inline constexpr uint8_t kProtocolVersion = 5;
inline constexpr size_t kFrameHeaderSize = 16;
inline constexpr uint32_t kMaxFramePayload = 256;
inline constexpr uint16_t kFlagPage = 1;

struct FrameHeader {
  Channel channel;
  bool has_page;
  uint32_t payload;
  NodeId sender;
};

// Appends the header of a frame to `out`.
void EncodeFrameHeader(const FrameHeader& h, std::vector<uint8_t>& out);
// Checks a received header (magic, version, channel, flags, size). Throws
// Error naming the problem.
FrameHeader DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize> header);

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_FRAME_H_

#include "cluster/transport/frame.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/wire.h"

namespace ssivm::cluster {

const char* ChannelName(Channel c) {
  switch (c) {
    case Channel::kHandshake:
      return "handshake";
    case Channel::kControl:
      return "control";
    case Channel::kCoherence:
      return "coherence";
  }
  return "unknown";
}

std::string NodeAddress::Describe() const {
  return fmt::format("node {} ({}:{})", id, host, port);
}

void EncodeFrameHeader(const FrameHeader& h, std::vector<uint8_t>& out) {
  wire::Writer w(out);
  w.Put(kFrameMagic);
  w.Put(kProtocolVersion);
  w.Put(static_cast<uint8_t>(h.channel));
  w.Put(static_cast<uint16_t>(h.has_page ? kFlagPage : 0));
  w.Put(h.payload);
  w.Put(h.sender);
}

FrameHeader DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize> header) {
  wire::Reader r(header);
  const auto magic = r.Get<uint32_t>();
  if (magic != kFrameMagic) throw Error(fmt::format("bad magic {:#010x}", magic));
  const auto version = r.Get<uint8_t>();
  if (version != kProtocolVersion) {
    throw Error(
        fmt::format("protocol version {} (this node speaks {})", version, kProtocolVersion));
  }
  const auto channel = r.Get<uint8_t>();
  if (channel >= kChannelCount) throw Error(fmt::format("unknown channel {}", channel));
  const auto flags = r.Get<uint16_t>();
  if ((flags & ~kFlagPage) != 0) throw Error(fmt::format("unknown flags {:#x}", flags));
  FrameHeader h{static_cast<Channel>(channel), (flags & kFlagPage) != 0, r.Get<uint32_t>(),
                r.Get<uint32_t>()};
  if (h.payload > kMaxFramePayload) {
    throw Error(fmt::format("payload of {} bytes is too large", h.payload));
  }
  return h;
}

}  // namespace ssivm::cluster

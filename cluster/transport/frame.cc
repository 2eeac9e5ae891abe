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

std::vector<uint8_t> EncodeHello(const Hello& h) {
  std::vector<uint8_t> payload;
  wire::Writer w(payload);
  w.Put(h.cluster_id);
  w.Put(h.protocol_version);
  w.Put(h.node_id);
  w.Put(h.epoch);
  std::vector<uint8_t> out;
  EncodeFrameHeader({Channel::kHandshake, false, static_cast<uint32_t>(payload.size()), h.node_id},
                    out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> EncodeGoodbye(NodeId sender) {
  std::vector<uint8_t> out;
  EncodeFrameHeader({Channel::kHandshake, false, 0, sender}, out);
  return out;
}

Hello DecodeHello(std::span<const uint8_t> payload) {
  wire::Reader r(payload);
  Hello h{};
  h.cluster_id = r.Get<uint64_t>();
  h.protocol_version = r.Get<uint32_t>();
  h.node_id = r.Get<uint32_t>();
  h.epoch = r.Get<uint64_t>();
  if (r.left() != 0) throw Error(fmt::format("Hello has {} unexpected trailing bytes", r.left()));
  return h;
}

}  // namespace ssivm::cluster

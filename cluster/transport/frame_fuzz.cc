// Fuzz target: what a peer sends on a connection, as the transport reads it.
// The first byte picks the reader; the rest is frames (a 16-byte header, its
// payload), each decoded as that reader would:
//   0  an acceptor: the dialer's Hello, then its Finish
//   1  a dialer: the acceptor's Reply
//   2  a connected node: sealed frames (their payloads opened with the key)
//   3  a connected node: the transport's own signals (Goodbye, Heartbeat)
// Each decoder accepts or throws Error; an accepted header encodes back to
// the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/transport/frame.h"
#include "cluster/transport/frame_seal.h"
#include "cluster/transport/handshake.h"
#include "common/error.h"
#include "tests/support/fuzz.h"

namespace ssivm::cluster {
namespace {

HandshakeConfig Config(NodeId self) {
  HandshakeConfig c;
  c.cluster_id = 0x1234abcd;
  c.epoch = 7;
  c.self = self;
  c.security = TransportSecurity::kEncrypted;
  c.secret.fill(0x5a);
  return c;
}

std::vector<uint8_t> Tagged(uint8_t reader, std::span<const uint8_t> frames) {
  std::vector<uint8_t> out{reader};
  out.insert(out.end(), frames.begin(), frames.end());
  return out;
}

std::vector<fuzz::Seed> Seeds() {
  DialerHandshake dialer(Config(3));
  AcceptorHandshake acceptor(Config(1));
  const std::vector<uint8_t> hello = dialer.Hello();
  acceptor.OnHello(DecodeFrameHeader(std::span(hello).first<kFrameHeaderSize>()),
                   std::span(hello).subspan(kFrameHeaderSize));
  const std::vector<uint8_t> reply = acceptor.Reply();
  const std::vector<uint8_t> finish =
      dialer.OnReply(DecodeFrameHeader(std::span(reply).first<kFrameHeaderSize>()),
                     std::span(reply).subspan(kFrameHeaderSize), 1);
  std::vector<uint8_t> hello_finish = hello;
  hello_finish.insert(hello_finish.end(), finish.begin(), finish.end());

  std::vector<uint8_t> sealed;
  EncodeFrameHeader({Channel::kControl, false, 5, 2}, sealed);
  sealed.insert(sealed.end(), {1, 2, 3, 4, 5});
  FrameSeal(TransportSecurity::kEncrypted, Config(1).secret).SealHead(sealed);

  std::vector<uint8_t> signals = EncodeSignal(HandshakeKind::kHeartbeat, 2);
  const std::vector<uint8_t> goodbye = EncodeSignal(HandshakeKind::kGoodbye, 2);
  signals.insert(signals.end(), goodbye.begin(), goodbye.end());
  return {
      {"acceptor_hello_finish", Tagged(0, hello_finish)},
      {"dialer_reply", Tagged(1, reply)},
      {"sealed_control_frame", Tagged(2, sealed)},
      {"signals", Tagged(3, signals)},
  };
}
const fuzz::SeedRegistration kSeeds(&Seeds);

// Takes the next frame off `in`: its header, checked and encoded back, and
// its payload (as long as the header says, at most what is left).
bool NextFrame(std::span<const uint8_t>& in, FrameHeader& h, std::span<const uint8_t>& payload) {
  if (in.size() < kFrameHeaderSize) return false;
  const std::span<const uint8_t, kFrameHeaderSize> header = in.first<kFrameHeaderSize>();
  h = DecodeFrameHeader(header);
  std::vector<uint8_t> again;
  EncodeFrameHeader(h, again);
  fuzz::Check(std::equal(again.begin(), again.end(), header.begin(), header.end()),
              "an accepted frame header encodes back to itself");
  in = in.subspan(kFrameHeaderSize);
  payload = in.first(std::min<size_t>(h.payload, in.size()));
  in = in.subspan(payload.size());
  return true;
}

void FuzzFrames(std::span<const uint8_t> in) {
  if (in.empty()) return;
  const uint8_t reader = in[0] % 4;
  in = in.subspan(1);
  FrameHeader h{};
  std::span<const uint8_t> payload;
  switch (reader) {
    case 0: {
      AcceptorHandshake acceptor(Config(1));
      if (!NextFrame(in, h, payload)) return;
      acceptor.OnHello(h, payload);
      (void)acceptor.Reply();
      if (!acceptor.mismatch().empty() || !NextFrame(in, h, payload)) return;
      acceptor.OnFinish(h, payload);
      return;
    }
    case 1: {
      DialerHandshake dialer(Config(3));
      (void)dialer.Hello();
      if (!NextFrame(in, h, payload)) return;
      (void)dialer.OnReply(h, payload, 1);
      return;
    }
    case 2: {
      FrameSeal seal(TransportSecurity::kEncrypted, Config(1).secret);
      while (in.size() >= kFrameHeaderSize) {
        const std::span<const uint8_t, kFrameHeaderSize> header = in.first<kFrameHeaderSize>();
        if (!NextFrame(in, h, payload) || in.size() < kTagBytes) return;
        std::vector<uint8_t> opened(payload.begin(), payload.end());
        seal.OpenPayload(header, opened, in.first<kTagBytes>());
        in = in.subspan(kTagBytes);
      }
      return;
    }
    default:
      while (NextFrame(in, h, payload)) (void)DecodeSignal(payload);
      return;
  }
}

}  // namespace
}  // namespace ssivm::cluster

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ssivm::cluster::FuzzFrames(ssivm::fuzz::Bytes(data, size));
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

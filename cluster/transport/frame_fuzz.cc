// Fuzz target: what a peer sends first on a connection, as the transport
// reads it: a 16-byte frame header, then (on the handshake channel) the
// Hello payload. Each decoder accepts or throws Error; what it accepts
// encodes back to the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/transport/frame.h"
#include "common/error.h"
#include "tests/support/fuzz.h"

namespace ssivm::cluster {
namespace {

std::vector<fuzz::Seed> Seeds() {
  std::vector<uint8_t> control;
  EncodeFrameHeader({Channel::kControl, false, 17, 2}, control);
  std::vector<uint8_t> coherence;
  EncodeFrameHeader({Channel::kCoherence, true, 11, 1}, coherence);
  return {
      {"hello", EncodeHello({0x1234abcd, kProtocolVersion, 3, 7})},
      {"goodbye", EncodeGoodbye(5)},
      {"control_header", control},
      {"coherence_header_with_page", coherence},
  };
}
const fuzz::SeedRegistration kSeeds(&Seeds);

void FuzzFrame(std::span<const uint8_t> in) {
  if (in.size() < kFrameHeaderSize) return;
  const std::span<const uint8_t, kFrameHeaderSize> header = in.first<kFrameHeaderSize>();
  const FrameHeader h = DecodeFrameHeader(header);
  std::vector<uint8_t> again;
  EncodeFrameHeader(h, again);
  fuzz::Check(std::equal(again.begin(), again.end(), header.begin(), header.end()),
              "an accepted frame header encodes back to itself");
  if (h.channel != Channel::kHandshake) return;
  const std::span<const uint8_t> payload = in.subspan(kFrameHeaderSize);
  const Hello hello = DecodeHello(payload);
  const std::vector<uint8_t> frame = EncodeHello(hello);
  fuzz::Check(
      std::equal(frame.begin() + kFrameHeaderSize, frame.end(), payload.begin(), payload.end()),
      "an accepted Hello encodes back to itself");
}

}  // namespace
}  // namespace ssivm::cluster

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ssivm::cluster::FuzzFrame(ssivm::fuzz::Bytes(data, size));
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

// Fuzz target: a node-control message (forwarded interrupt or port I/O,
// shutdown) as a peer sends it. DecodeControl accepts it or throws Error; an
// accepted payload encodes back to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/control_message.h"
#include "common/error.h"
#include "tests/support/fuzz.h"

namespace ssivm::cluster {
namespace {

std::vector<fuzz::Seed> Seeds() {
  return {
      {"interrupt_request", EncodeControl(InterruptRequest{3, 0xf0})},
      {"io_request_write", EncodeControl(IoRequest{77, 2, 0x3f8, 1, true, 'x'})},
      {"io_request_read", EncodeControl(IoRequest{78, 0, 0x50c, 4, false, 0})},
      {"io_reply", EncodeControl(IoReply{77, 0x60})},
      {"shutdown", EncodeControl(Shutdown{-5, 2})},
  };
}
const fuzz::SeedRegistration kSeeds(&Seeds);

}  // namespace
}  // namespace ssivm::cluster

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> payload = ssivm::fuzz::Bytes(data, size);
  try {
    const std::vector<uint8_t> again =
        ssivm::cluster::EncodeControl(ssivm::cluster::DecodeControl(payload));
    ssivm::fuzz::Check(std::equal(again.begin(), again.end(), payload.begin(), payload.end()),
                       "an accepted payload encodes back to itself");
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

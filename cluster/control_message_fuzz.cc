// Fuzz target: a node-control message (forwarded interrupt or port I/O,
// shutdown, vCPU migration) as a peer sends it. DecodeControl accepts it or throws Error; an
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
      {"interrupt_request", EncodeControl(InterruptRequest{3, 0xf0, 1})},
      {"io_request_write", EncodeControl(IoRequest{77, 2, 0x3f8, 1, true, 'x'})},
      {"io_request_read", EncodeControl(IoRequest{78, 0, 0x50c, 4, false, 0})},
      {"io_reply", EncodeControl(IoReply{77, 0x60})},
      {"shutdown", EncodeControl(Shutdown{-5, 2})},
      {"migrate_out", EncodeControl(MigrateOut{9, 1, 2, 40})},
      {"vcpu_state_part", EncodeControl(VcpuStatePart{9, 1, 40, 70000, 4096, 4096, 1, 2})},
      {"vcpu_moved", EncodeControl(VcpuMoved{9, 1, 0, 2, 40, 1500000, 71800, 100000, 600000})},
      {"view_applied", EncodeControl(ViewApplied{9, 40})},
      {"pages_pulled", EncodeControl(PagesPulled{1, 2, 900})},
      {"move_failed", EncodeControl(MoveFailed{9, 1, MoveFailed::kMoveBusy})},
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

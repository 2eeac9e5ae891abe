// Fuzz target: a coherence message as a peer sends it. Input: one byte
// whose bit 0 says whether a page travels beside the payload (the frame's
// page flag), then the payload. Decode accepts it or throws Error; an
// accepted payload encodes back to itself and keeps its page.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/error.h"
#include "common/page_buffer.h"
#include "dsm/protocol/message.h"
#include "tests/support/fuzz.h"

namespace ssivm::dsm {
namespace {

std::vector<uint8_t> Input(bool with_page, const Message& m) {
  std::vector<uint8_t> in{static_cast<uint8_t>(with_page ? 1 : 0)};
  const std::vector<uint8_t> payload = EncodePayload(m);
  in.insert(in.end(), payload.begin(), payload.end());
  return in;
}

std::vector<fuzz::Seed> Seeds() {
  return {
      {"get_shared", Input(false, GetShared{123})},
      {"get_modified", Input(false, GetModified{0xfffff})},
      {"invalidate", Input(false, Invalidate{7})},
      {"invalidate_ack", Input(false, InvalidateAck{7})},
      {"forward", Input(false, Forward{9, Access::kWrite})},
      {"write_back", Input(true, WriteBack{11, true, {}})},
      {"grant_zero", Input(false, Grant{12, Access::kRead, DataKind::kZero, {}})},
      {"grant_bytes", Input(true, Grant{13, Access::kWrite, DataKind::kBytes, {}})},
      {"put_shared", Input(false, PutShared{14})},
      {"put_modified", Input(true, PutModified{15, {}})},
  };
}
const fuzz::SeedRegistration kSeeds(&Seeds);

}  // namespace
}  // namespace ssivm::dsm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzz = ssivm::fuzz;
  if (size == 0) return 0;
  static ssivm::PagePool pool;
  const bool with_page = (data[0] & 1) != 0;
  const std::span<const uint8_t> payload = fuzz::Bytes(data + 1, size - 1);
  const ssivm::PageBuffer page = with_page ? pool.Allocate() : ssivm::PageBuffer();
  try {
    const ssivm::dsm::Message m = ssivm::dsm::Decode(payload, page);
    const std::vector<uint8_t> again = ssivm::dsm::EncodePayload(m);
    fuzz::Check(std::equal(again.begin(), again.end(), payload.begin(), payload.end()),
                "an accepted payload encodes back to itself");
    const ssivm::PageBuffer* carried = ssivm::dsm::DataOf(m);
    fuzz::Check(with_page == (carried != nullptr), "a page is carried exactly when one came");
    fuzz::Check(carried == nullptr || carried->data() == page.data(),
                "the carried page is the frame's page (a handle, not a copy)");
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

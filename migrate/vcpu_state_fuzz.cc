// Fuzz target: a vCPU's state as another node sends it (DecodeVcpuState).
// It accepts or throws Error; what it accepts encodes to a form that decodes
// and encodes to itself again (sections may come in any order on the wire).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "migrate/vcpu_state_codec.h"
#include "tests/support/fuzz.h"

namespace ssivm::migrate {
namespace {

VcpuState Small() {
  VcpuState s;
  s.vcpu = 1;
  s.regs.rip = 0x1000123;
  s.sregs.cr3 = 0x101000;
  s.fpu.emplace();
  s.msrs = {{0xc0000082, 0xffffffff81000000}};
  s.mp_state = KVM_MP_STATE_RUNNABLE;
  return s;
}

VcpuState Full() {
  VcpuState s = Small();
  s.fpu.reset();
  s.xsave.emplace();
  s.xsave->region[7] = 0xdeadbeef;
  s.xcrs.emplace();
  s.xcrs->nr_xcrs = 1;
  s.xcrs->xcrs[0].value = 7;
  s.msrs.emplace_back(0x10, 123456789);
  s.events.exception.injected = 1;
  s.events.exception.nr = 14;
  s.mp_state = KVM_MP_STATE_HALTED;
  s.private_slot.assign(64, 0x5a);
  return s;
}

std::vector<fuzz::Seed> Seeds() {
  return {{"fpu_one_msr", EncodeVcpuState(Small())}, {"xsave_xcrs_slot", EncodeVcpuState(Full())}};
}
const fuzz::SeedRegistration kSeeds(&Seeds);

}  // namespace
}  // namespace ssivm::migrate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace migrate = ssivm::migrate;
  try {
    const std::vector<uint8_t> once =
        migrate::EncodeVcpuState(migrate::DecodeVcpuState(ssivm::fuzz::Bytes(data, size)));
    ssivm::fuzz::Check(migrate::EncodeVcpuState(migrate::DecodeVcpuState(once)) == once,
                       "an accepted state's encoding is canonical");
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

#include "migrate/capture_point.h"

#include <fmt/format.h>

namespace ssivm::migrate {
namespace {

constexpr uint8_t kInt3 = 0xcc;

}  // namespace

std::string CaptureBlocker(const kvm_vcpu_events& e, const PvmEventState* pvm) {
  if (e.exception.injected || e.exception.pending) {
    return fmt::format("exception {} in delivery", e.exception.nr);
  }
  if (e.interrupt.injected) return fmt::format("interrupt {:#x} in delivery", e.interrupt.nr);
  if (e.nmi.injected) return "NMI in delivery";
  if (pvm == nullptr) return "";
  if (pvm->vif_pending != 0) return "interrupt held by PVM until the guest turns vIF on";
  if (pvm->byte_before_rip == kInt3) return "INT3 (#BP) just executed";
  return "";
}

}  // namespace ssivm::migrate

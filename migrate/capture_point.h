// Whether a paused vCPU is at a point where its captured state is all of it.
// KVM restores an event it was delivering (VCPU_EVENTS), but PVM keeps two
// kinds of in-flight event state that no KVM interface exposes:
//   - an interrupt that arrived while the guest's vIF was off is taken out of
//     the LAPIC and held by PVM, the vIF cell's pending byte set, until the
//     guest turns vIF on and rings; moved then, the vCPU's ISR bit stays set
//     forever on the target (no more timer ticks);
//   - the guest's INT3 becomes a #BP that PVM delivers itself; a vCPU caught
//     right after an INT3 may not have taken it, and KVM's events do not say
//     (moved then, it runs on past the trap).
// Pure logic: the caller reads the events and the guest bytes.
#ifndef SSIVM_MIGRATE_CAPTURE_POINT_H_
#define SSIVM_MIGRATE_CAPTURE_POINT_H_

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <string>

namespace ssivm::migrate {

// On a PVM host, what the guest's memory says about the paused vCPU.
struct PvmEventState {
  uint8_t vif_pending = 0;                 // byte 1 of its vIF cell
  std::optional<uint8_t> byte_before_rip;  // the instruction byte before RIP, if in RAM
};

// What the vCPU is in the middle of ("" if nothing: capture it now).
// `pvm`: null on other hosts.
std::string CaptureBlocker(const kvm_vcpu_events& events, const PvmEventState* pvm);

}  // namespace ssivm::migrate

#endif  // SSIVM_MIGRATE_CAPTURE_POINT_H_

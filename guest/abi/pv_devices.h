// ssivm paravirtual device ABI (I/O ports), shared by the VMM and the guest.
// Freestanding: only <stdint.h>.
#ifndef SSIVM_GUEST_ABI_PV_DEVICES_H_
#define SSIVM_GUEST_ABI_PV_DEVICES_H_

#include <stdint.h>

namespace ssivm::abi {

// 16550A UART (COM1) on its legacy ports and ISA IRQ 4.
inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr uint16_t kCom1PortCount = 8;
inline constexpr uint32_t kCom1Irq = 4;

// PVM interrupt doorbell (handled inside KVM; a VMM may still see it).
inline constexpr uint16_t kPvmDoorbellPort = 0x80;

// Debug exit: a 32-bit OUT of a status stops the whole VM; the VMM process
// exits with (status & 0xff).
inline constexpr uint16_t kDebugExitPort = 0x500;

// Boot progress: a 32-bit OUT of BootProgress(vcpu, milestone); the VMM logs
// the milestone with the time since its process started.
inline constexpr uint16_t kBootProgressPort = 0x504;

// Paravirtual IPI: a 32-bit OUT of PvIpi(target vCPU, vector) delivers a fixed,
// edge-triggered interrupt with that vector to the target vCPU's LAPIC. The
// VMM uses KVM_SIGNAL_MSI locally and (multi-node) forwards to the node that
// runs the target. Vectors below 32 are refused (counted, not delivered).
// One exit per IPI, but no emulated ICR write and no x2APIC MSR trap.
inline constexpr uint16_t kPvIpiPort = 0x508;

inline constexpr uint32_t PvIpi(uint32_t target_vcpu, uint8_t vector) {
  return (target_vcpu << 8) | vector;
}
inline constexpr uint32_t PvIpiTarget(uint32_t value) {
  return value >> 8;
}
inline constexpr uint8_t PvIpiVector(uint32_t value) {
  return static_cast<uint8_t>(value & 0xff);
}

// PV info: the VMM's statistics for the node the reading vCPU runs on (the
// guest shell's `stats`). A 32-bit OUT of a PvInfoKey to kPvInfoPort
// selects a value; 32-bit INs at kPvInfoPort and kPvInfoPort + 4 read its
// low and high halves. One selector per node: callers serialize. Unknown
// keys read as all-ones.
inline constexpr uint16_t kPvInfoPort = 0x50c;
inline constexpr uint16_t kPvInfoPortCount = 8;

enum PvInfoKey : uint32_t {
  kInfoNodeId = 0,  // this node as the guest numbers its nodes: 0..N-1 in id order
  kInfoNodeCount,
  kInfoReadFaults,
  kInfoWriteFaults,
  kInfoPagesSent,
  kInfoPagesReceived,
  kInfoZeroFills,
  kInfoInvalidations,
  kInfoMessages,
  kInfoVcpuExits,
  kInfoCachedPages,  // copies of pages homed on other nodes held here
  kInfoEvictedClean,
  kInfoWrittenBack,
  kInfoKeyCount
};

// Idle port: an OUT of any size and value halts the vCPU that made it until
// its next interrupt, as an intercepted HLT would. Offered (SsivmInfo
// kFeatureIdlePort) where HLT does not exit because the VMM keeps it in the
// guest (multi-node: that is what turns KVM's async page faults off), so that
// an idle vCPU's host thread sleeps instead of spinning in guest mode. Idle
// with `sti; out %al, %dx` (DX = kIdlePort): the STI shadow covers the OUT,
// and an interrupt that is already pending ends the halt at once.
inline constexpr uint16_t kIdlePort = 0x514;

enum Milestone : uint16_t {
  kMilestoneEntry = 1,      // first instruction of the kernel on this vCPU
  kMilestoneBootInfo = 2,   // boot info parsed (boot vCPU)
  kMilestoneArch = 3,       // arch layer detected and set up
  kMilestoneConsole = 4,    // console usable
  kMilestoneCpuOnline = 5,  // this vCPU is online
  kMilestoneAllCpus = 6,    // every vCPU is online (boot vCPU)
  kMilestoneReady = 7,      // kernel is up: workloads / shell start
  kMilestoneCount
};

inline constexpr uint32_t BootProgress(uint32_t vcpu, uint16_t milestone) {
  return (vcpu << 16) | milestone;
}
inline constexpr uint32_t BootProgressVcpu(uint32_t value) {
  return value >> 16;
}
inline constexpr uint16_t BootProgressMilestone(uint32_t value) {
  return static_cast<uint16_t>(value & 0xffff);
}

inline const char* MilestoneName(uint16_t m) {
  switch (m) {
    case kMilestoneEntry:
      return "entry";
    case kMilestoneBootInfo:
      return "boot-info";
    case kMilestoneArch:
      return "arch";
    case kMilestoneConsole:
      return "console";
    case kMilestoneCpuOnline:
      return "cpu-online";
    case kMilestoneAllCpus:
      return "all-cpus";
    case kMilestoneReady:
      return "ready";
    default:
      return nullptr;
  }
}

// Guest exit statuses with a fixed meaning (the guest may use any other).
inline constexpr uint32_t kExitSuccess = 0;
inline constexpr uint32_t kExitFailure = 1;
inline constexpr uint32_t kExitPanic = 3;  // the guest kernel panicked

}  // namespace ssivm::abi

#endif  // SSIVM_GUEST_ABI_PV_DEVICES_H_

// The QEMU command line of the emulated hardware-KVM machine ("L1"): pure
// emulation (TCG) of an AMD CPU with SVM, so that the Debian kernel inside
// has a real /dev/kvm (kvm_amd, nested paging). The host's files reach it
// over virtio-9p; its serial console and the control channel to the agent
// are Unix sockets that the supervisor listens on. Pure logic.
#ifndef SSIVM_HYPERVISOR_EMULATED_QEMU_COMMAND_H_
#define SSIVM_HYPERVISOR_EMULATED_QEMU_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ssivm::emulated {

// A host directory exported to L1 over virtio-9p under `tag`.
struct Share {
  std::string tag;
  std::string host_path;
  bool read_only = true;
};

struct QemuSpec {
  std::string qemu = "qemu-system-x86_64";
  uint32_t cpus = 2;
  uint64_t memory_mib = 2048;
  std::string kernel;
  std::string initrd;
  std::string append;          // the L1 kernel's command line
  std::string serial_socket;   // L1's ttyS0 (its kernel and init messages)
  std::string channel_socket;  // the virtio-serial port of the agent's channel
  std::vector<Share> shares;
};

// The virtio-serial port name the agent looks for in /sys/class/virtio-ports.
inline constexpr char kChannelPortName[] = "org.ssivm.hwkvm.0";
// The L1 kernel parameter that tells the agent kvm_amd's npt (0 or 1).
inline constexpr char kNestedPagingParam[] = "hwkvm.npt=";
// The 9p tag of the host's root directory.

inline constexpr char kRootShareTag[] = "hostroot";

std::vector<std::string> QemuArgv(const QemuSpec& spec);

// The CPU model: EPYC with SVM. XSAVE is off: QEMU 7.2's TCG does not pass
// XSETBV intercepts to L1's KVM, so a nested guest would see a broken XSAVE
// (shared/reference/nested-linux).
inline constexpr char kCpuModel[] = "EPYC,-xsave,+svm";

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_QEMU_COMMAND_H_

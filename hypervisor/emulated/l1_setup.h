// What the agent sets up inside the emulated machine before it runs
// anything: terminals, shared memory, loopback, huge pages, KVM.
#ifndef SSIVM_HYPERVISOR_EMULATED_L1_SETUP_H_
#define SSIVM_HYPERVISOR_EMULATED_L1_SETUP_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace ssivm::emulated {

// kvm_amd's npt option ("npt=0" or "npt=1") from L1's kernel command line
// (kNestedPagingParam); nested paging ("npt=1") unless it says 0.

std::string KvmAmdNptOption(std::string_view cmdline);

// Mounts devpts and /dev/shm, brings up lo, names the host, loads kvm_amd
// (npt as /proc/cmdline says).

// Returns what went wrong (empty: /dev/kvm is ready).
std::string SetUpL1();

// Records, in the machine's trace buffer, every exit of a KVM guest (L2)
// whose instruction pointer lies in kvm_amd's own code: the sign of QEMU
// 7.2's nested-SVM fault (docs/emulated-machine.md, "Known emulator
// fault"), where a guest vCPU runs with the machine's own state. No guest
// of ours or Linux runs there. Returns what went wrong (empty: recording).
std::string RecordEmulatorFaults();

// Evidence that the emulator fault hit this machine (what
// RecordEmulatorFaults recorded, or a kernel oops), or empty. What ran in
// the machine since then cannot be trusted.
std::string EmulatorFaultEvidence();

// The evidence in kvm:kvm_exit trace lines (pure): a guest rip inside
// kvm_amd's code [first, second); or a guest triple fault while the CPU
// delivered a not-present page fault on an instruction fetch in low RAM,
// which every test guest's page tables map (the VMM's identity tables,
// never changed; Linux's own map its kernel too): the emulator read the
// wrong memory. Empty if none.
std::string EmulatorFaultInTrace(const std::vector<std::string>& lines,
                                 std::optional<std::pair<uint64_t, uint64_t>> kvm_amd);

// The trace's lines for guest triple faults (SVM shutdown exits, with the
// guest's rip at the fault), for a failing test's report; or empty.
std::string GuestShutdownTrace();

// The environment of a command run inside: the host's `env` plus
// SSIVM_VCPU_CPUS naming the machine's last CPU (of `online_cpus`), unless
// the host set it. Every vCPU thread then runs on that one CPU: QEMU's SVM
// emulation corrupts guest and machine state when guest vCPUs run on two
// of its CPUs at once (docs/emulated-machine.md, "All guest vCPUs on one of the
// machine's CPUs").
std::vector<std::string> InsideEnvironment(std::vector<std::string> env, long online_cpus);

// The agent's end of the channel (the virtio-serial port named
// kChannelPortName), non-blocking. Throws Error if it is not there.
UniqueFd OpenChannelPort();

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_L1_SETUP_H_

// Where a VM command runs: on this host's /dev/kvm, or in the emulated
// hardware-KVM machine when the host has none (`--kvm auto|host|emulated`),
// how big that machine is, and how a program runs itself again inside it.
#ifndef SSIVM_HYPERVISOR_EMULATED_RUNTIME_H_
#define SSIVM_HYPERVISOR_EMULATED_RUNTIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hypervisor/emulated/supervisor.h"

namespace ssivm::emulated {

enum class KvmChoice { kAuto, kHost, kEmulated };

// "auto", "host", "emulated"; nullopt otherwise.
std::optional<KvmChoice> ParseKvmChoice(std::string_view s);
const char* KvmChoiceName(KvmChoice c);

// The environment variable that sets the choice where no option does
// (tests; and inside the emulated machine it is "host").
inline constexpr char kKvmEnv[] = "SSIVM_KVM";
// Set (to "1") for every command run inside the emulated machine: tests size
// their workloads by it (everything there is emulated, ~100 times slower).
inline constexpr char kInsideEnv[] = "SSIVM_HWKVM_INSIDE";

// What the host offers, as far as choosing goes.
struct HostKvm {
  int open_errno = 0;     // 0: the device opened read-write
  bool hardware = false;  // VMX/SVM (else PVM)
};
HostKvm ProbeHostKvm(const std::string& device = "/dev/kvm");

struct KvmDecision {
  bool emulated = false;
  std::string reason;  // why, for the one line the user sees
};

// auto: the host's KVM when it opens (and is hardware KVM, if
// `need_hardware`), else the emulated machine. host and emulated are taken
// as said; host with an unusable device is an Error naming the problem.
// Pure logic.
KvmDecision DecideKvm(KvmChoice choice, const HostKvm& host, const std::string& device,
                      bool need_hardware = false);

// The choice from `option` ("auto" defers to $SSIVM_KVM). Error if either
// is not a choice.
KvmChoice ChoiceFrom(const std::string& option);

// How big the emulated machine is for a guest: CPUs for its vCPUs (at
// least 2, at most the host's), memory for every node's guest RAM plus the
// machine's kernel, page cache and VMM processes. Pure logic.
struct MachineSize {
  uint32_t cpus;
  uint64_t memory_mib;
};
MachineSize SizeFor(uint32_t vcpus, uint64_t guest_mib, uint32_t node_processes,
                    uint32_t host_cpus);

// Runs `argv` in the emulated machine, in this directory with this
// environment (plus SSIVM_KVM=host), on this terminal if stdin and stdout
// are one; progress lines go to stderr as "<who>: ..." unless
// options.progress says otherwise. Returns the command's exit status, or
// prints why the machine failed and returns 125.
int RunCommandInEmulatedMachine(const std::string& who, const std::vector<std::string>& argv,
                                MachineOptions options);

// The same, with the whole outcome (whether the machine or the command
// failed).
MachineRun RunCommandInEmulatedMachineFor(const std::string& who,
                                          const std::vector<std::string>& argv,
                                          MachineOptions options);

// The same for this program with `args` (argv without argv[0]).
int RunSelfInEmulatedMachine(const std::string& who, const std::vector<std::string>& args,
                             MachineOptions options);

// The arguments (argv without argv[0]) a program runs with inside the
// emulated machine: its own, with any --kvm choice replaced by
// "--kvm host". Pure logic.
std::vector<std::string> ArgsForInside(int argc, const char* const* argv);

// "NAME=value" for every variable of this process, with `set` added or
// replacing the variable of the same name.
std::vector<std::string> EnvironmentWith(
    const std::vector<std::pair<std::string, std::string>>& set);

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_RUNTIME_H_

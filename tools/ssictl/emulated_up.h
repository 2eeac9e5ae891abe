// `ssictl up --kvm auto|host|emulated`: where the node processes run.
// Without a usable /dev/kvm here (or with --kvm emulated), ssictl runs the
// same `up` again inside the emulated hardware-KVM machine, sized for the
// guest, with the run directory private to it; the nodes' control sockets
// (and a socket console) are forwarded to the same paths here, so `ssictl
// status`, `down` and `console` work from this machine as usual.
#ifndef SSIVM_TOOLS_SSICTL_EMULATED_UP_H_
#define SSIVM_TOOLS_SSICTL_EMULATED_UP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ssivm {

// main() records its arguments: they are what runs inside.
void RememberInvocation(int argc, char** argv);

struct EmulatedUp {
  std::string kvm = "auto";          // the --kvm option
  uint32_t vcpus = 1;                // all nodes together
  uint64_t guest_mib = 0;            // all nodes together
  uint32_t nodes = 1;                // node processes
  bool needs_hardware = false;       // the guest needs hardware KVM (a Linux bzImage)
  std::vector<std::string> control;  // every node's control socket, node order
  std::string console_socket;        // a socket console (empty: none)
  // Set for `up` and `up --nodes`: the VM's name, which the caller records
  // for `ssictl status` / `down` (passed inside as --name if it was made up).
  std::string name;
  bool name_given = true;
  bool detach = false;  // up returns once the nodes run; the machine stays
  std::string log;      // detached: where the machine's output goes
  // An ssivm command line for the whole guest, checked here (ssivm --check)
  // before the machine starts: a bad image fails at once.
  std::vector<std::string> check;
};

// nullopt: run here (the host's KVM). Otherwise the exit status of `up`
// inside the emulated machine (or, detached, of starting it).
std::optional<int> UpEmulatedIfNeeded(const EmulatedUp& up);

// A Linux bzImage needs hardware KVM (PVM cannot boot it).
bool IsLinuxKernel(const std::string& path);

// The console spec's socket path ("socket:PATH"), or empty.
std::string ConsoleSocket(const std::string& console);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_EMULATED_UP_H_

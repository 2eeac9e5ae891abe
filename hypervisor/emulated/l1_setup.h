// What the agent sets up inside the emulated machine before it runs
// anything: terminals, shared memory, loopback, huge pages, KVM.
#ifndef SSIVM_HYPERVISOR_EMULATED_L1_SETUP_H_
#define SSIVM_HYPERVISOR_EMULATED_L1_SETUP_H_

#include <string>

#include "common/unique_fd.h"

namespace ssivm::emulated {

// Mounts devpts and /dev/shm, brings up lo, names the host, loads kvm_amd.
// Returns what went wrong (empty: /dev/kvm is ready).
std::string SetUpL1();

// The agent's end of the channel (the virtio-serial port named
// kChannelPortName), non-blocking. Throws Error if it is not there.
UniqueFd OpenChannelPort();

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_L1_SETUP_H_

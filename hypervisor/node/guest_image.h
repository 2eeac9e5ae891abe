// The first steps of building a node's machine, none of which needs KVM:
// host checks, guest RAM, the kernel and initrd loaded, the boot info and the
// node-private structures (page tables, GDT, TSSs) written. A bad image,
// command line or size fails here, before KVM is opened.
#ifndef SSIVM_HYPERVISOR_NODE_GUEST_IMAGE_H_
#define SSIVM_HYPERVISOR_NODE_GUEST_IMAGE_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "common/mapping.h"
#include "hypervisor/kvm/host_kind.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/node/machine.h"
#include "hypervisor/x86/kernel_loader.h"
#include "hypervisor/x86/layout.h"

namespace ssivm {

// Guest RAM: one anonymous mapping; the part above 3 GiB appears at 4 GiB.
// Its start is 2 MiB aligned so that, on hardware KVM, transparent huge pages
// back whole 2 MiB guest frames (nested paging then uses large pages: a Linux
// boot is much faster).
struct GuestRam {
  Mapping mapping;
  GuestMemory memory;
};

// Everything that needs no KVM, done before KVM is touched: the guest RAM
// with the kernel, initrd, boot info and the node-private structures in it.
// A bad image, command line or size fails here.
struct PreparedGuest {
  GuestLayout layout;
  GuestRam ram;
  LoadedKernel kernel;
  uint64_t boot_params = 0;
  uint64_t cr3 = 0;
  uint16_t gdt_limit = 0;
  // A cluster node: the effective cache budget in MiB (CacheBudgetMib), how
  // much guest RAM homed on other nodes it may keep resident. 0 otherwise.
  uint64_t cache_mib = 0;
};

// Checks the host (memory: a single node for the whole guest, a cluster node
// for what it holds, its cache included), loads the images and writes everything the guest
// finds in RAM at boot; in a cluster, the boot info already names each
// range's home node. Throws Error naming the problem.
PreparedGuest PrepareGuest(const MachineConfig& cfg, HostKind kind);

// The ranges every node loads identically (kernel text, the initrd), which
// start replicated read-only when the DSM starts.
std::vector<std::pair<uint64_t, uint64_t>> ReplicatedAtStart(const PreparedGuest& g);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_GUEST_IMAGE_H_

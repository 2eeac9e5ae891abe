// GDT and per-vCPU TSS the VMM builds in the node-private region.
#ifndef SSIVM_HYPERVISOR_X86_DESCRIPTORS_H_
#define SSIVM_HYPERVISOR_X86_DESCRIPTORS_H_

#include <cstdint>

#include "hypervisor/memory/guest_memory.h"

namespace ssivm {

// Flat 64-bit code/data descriptors at the abi selectors, then one TSS
// descriptor per vCPU (abi::TssSelector). Returns the GDT limit.
uint16_t BuildGdt(const GuestMemory& mem, uint64_t gdt_gpa, uint32_t vcpus);

// The 64-bit TSS in a vCPU's slot, with IST1/IST2 at the slot's stacks.
void BuildTss(const GuestMemory& mem, uint32_t vcpu);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_DESCRIPTORS_H_

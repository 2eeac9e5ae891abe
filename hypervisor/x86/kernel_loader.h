// Loads a guest kernel (an x86-64 ELF executable or a Linux bzImage) into
// guest RAM and writes the boot information every vCPU starts with: the
// Linux boot_params ("zero page"), the command line, the initrd and the
// ssivm setup_data table (guest/abi/boot_info.h).
#ifndef SSIVM_HYPERVISOR_X86_KERNEL_LOADER_H_
#define SSIVM_HYPERVISOR_X86_KERNEL_LOADER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guest/abi/boot_info.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/x86/layout.h"

namespace ssivm {

struct LoadedKernel {
  enum class Format { kElf, kBzImage } format;
  uint64_t entry;                    // 64-bit entry point (a GPA; vCPUs start identity-mapped)
  uint64_t kernel_base, kernel_end;  // guest RAM the kernel occupies, incl. bss / init_size
  // A bzImage's setup header, for WriteBootInfo: pass
  // `setup_header ? &*setup_header : nullptr`. Empty for ELF.
  std::optional<abi::SetupHeader> setup_header;
  // Page-aligned ranges that the kernel never writes (an ELF's read-only
  // segments: text, rodata). A cluster replicates them on every node.
  std::vector<RamRange> read_only;
};

struct BootConfig {
  std::string kernel_name;
  std::string cmdline;
  std::span<const uint8_t> initrd;  // empty: no initrd
  std::string initrd_name;
  abi::HostKind host_kind;
  uint32_t node_count = 1;
  // A cluster's: which node is home of which part of shared RAM (base, size,
  // home_node) and which node runs each vCPU. Empty: node 0 for all.
  std::vector<abi::MemRange> homes{};
  std::vector<uint8_t> vcpu_node{};
  uint64_t acpi_rsdp_gpa = 0;  // boot_params.acpi_rsdp_addr; 0: none
};

// Detects the format by its magic, validates and loads the image. Throws
// Error("<name>: ...") naming the problem.
LoadedKernel LoadKernel(std::span<const uint8_t> image, std::string_view name,
                        const GuestMemory& mem, const GuestLayout& layout);

// Zeroes and writes abi::BootParams at abi::kBootParamsGpa, the command line
// at abi::kCmdlineGpa, the initrd (above the kernel, below the end of low RAM
// and, for a bzImage, its initrd_addr_max) and the ssivm setup_data at
// abi::kSetupDataGpa. linux_hdr is the bzImage's setup header as ParseBzImage
// returns it (LoadedKernel::setup_header), nullptr for an ELF kernel.
// Returns abi::kBootParamsGpa, the vCPUs' RSI.
uint64_t WriteBootInfo(const GuestMemory& mem, const GuestLayout& layout,
                       const LoadedKernel& kernel, const BootConfig& config,
                       const abi::SetupHeader* linux_hdr);

// Sets SsivmInfo::features (abi::Feature bits; WriteBootInfo leaves none) in
// the boot info WriteBootInfo wrote: an offer that depends on what KVM
// allows is known only once the VM exists, after the guest is in RAM.
void SetBootFeatures(const GuestMemory& mem, uint32_t features);
// Records in that boot info that `vcpu` now runs on guest node `node` (a
// vCPU migrated): the ssivm guest reads its vCPU -> node table live.
void SetVcpuNode(const GuestMemory& mem, uint32_t vcpu, uint8_t node);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_KERNEL_LOADER_H_

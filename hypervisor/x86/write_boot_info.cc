// WriteBootInfo (kernel_loader.h): boot_params, command line, initrd and the
// ssivm setup_data table.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/x86/boot_params.h"
#include "hypervisor/x86/bzimage.h"
#include "hypervisor/x86/kernel_loader.h"

namespace ssivm {
namespace {

constexpr uint8_t kTypeOfLoaderUndefined = 0xff;
constexpr uint16_t kElfBootProtocol = 0x020f;
constexpr size_t kHeaderMagicOffset = 0x202;
// Before protocol 2.06 the command line limit was 255 bytes.
constexpr uint32_t kLegacyCmdlineSize = 255;

// The bzImage's own header bytes (0x1f1 to 0x202 + the byte at 0x201).
void CopyLinuxHeader(const abi::SetupHeader& from, abi::SetupHeader* to, std::string_view name) {
  const size_t header_end = kHeaderMagicOffset + (from.jump >> 8);
  if (from.header != abi::kHdrSMagic || header_end < kBzImageMinSize) {
    throw Error(
        fmt::format("{}: the setup header passed to WriteBootInfo is not a bzImage's "
                    "(magic {:#x}, ends at {:#x})",
                    name, from.header, header_end));
  }
  const size_t n = std::min(header_end - abi::kSetupHeaderOffset, sizeof(abi::SetupHeader));
  std::memcpy(to, &from, n);
}

void FillElfHeader(abi::SetupHeader* hdr) {
  hdr->boot_flag = abi::kBootFlag;
  hdr->header = abi::kHdrSMagic;
  hdr->version = kElfBootProtocol;
  hdr->loadflags = abi::kLoadedHigh;
  hdr->xloadflags = abi::kXlfKernel64;
  hdr->cmdline_size = abi::kCmdlineMaxSize - 1;
}

void WriteCmdline(const GuestMemory& mem, const BootConfig& config, uint64_t limit,
                  abi::SetupHeader* hdr) {
  const std::string& cmdline = config.cmdline;
  if (cmdline.size() > limit) {
    throw Error(fmt::format("{}: kernel command line is {} bytes, the limit is {}",
                            config.kernel_name, cmdline.size(), limit));
  }
  if (cmdline.find('\0') != std::string::npos) {
    throw Error(fmt::format("{}: kernel command line contains a NUL byte", config.kernel_name));
  }
  mem.Write(abi::kCmdlineGpa, {reinterpret_cast<const uint8_t*>(cmdline.data()), cmdline.size()});
  mem.Fill(abi::kCmdlineGpa + cmdline.size(), 1, 0);
  hdr->cmd_line_ptr = static_cast<uint32_t>(abi::kCmdlineGpa);
}

void WriteInitrd(const GuestMemory& mem, const GuestLayout& layout, const LoadedKernel& kernel,
                 const BootConfig& config, uint64_t highest_end, abi::BootParams* bp) {
  const uint64_t size = config.initrd.size();
  uint64_t start;
  try {
    start = PlaceInitrd(layout, size, kernel.kernel_end, highest_end);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", config.initrd_name, e.what()));
  }
  mem.Write(start, config.initrd);
  bp->hdr.ramdisk_image = static_cast<uint32_t>(start);
  bp->hdr.ramdisk_size = static_cast<uint32_t>(size);
  bp->ext_ramdisk_image = static_cast<uint32_t>(start >> 32);
  bp->ext_ramdisk_size = static_cast<uint32_t>(size >> 32);
}

void WriteSsivmInfo(const GuestMemory& mem, const GuestLayout& layout, const LoadedKernel& kernel,
                    const BootConfig& config, const abi::BootParams& bp) {
  std::vector<abi::MemRange> ranges = BuildMemRanges(layout, kernel.kernel_base, kernel.kernel_end,
                                                     abi::InitrdBase(bp), abi::InitrdSize(bp));
  if (!config.homes.empty()) ranges = SplitSharedByHome(ranges, config.homes);
  if (config.vcpu_node.size() > std::min<size_t>(layout.vcpus, abi::kMaxVcpus)) {
    throw Error(fmt::format("a node for each of {} vCPUs, but the guest has {}",
                            config.vcpu_node.size(), layout.vcpus));
  }
  if (ranges.size() > abi::kMaxMemRanges) {
    throw Error(fmt::format("guest memory map has {} ranges, the ssivm table holds {}",
                            ranges.size(), abi::kMaxMemRanges));
  }
  if (config.node_count == 0) throw Error("node count must be at least 1");
  abi::SsivmInfo info{};
  info.magic = abi::kSsivmInfoMagic;
  info.version = abi::kSsivmInfoVersion;
  info.size = sizeof(abi::SsivmInfo);
  info.host_kind = static_cast<uint32_t>(config.host_kind);
  info.vcpu_count = layout.vcpus;
  info.node_count = config.node_count;
  info.boot_vcpu = 0;
  info.vcpu_slots_gpa = abi::kVcpuSlotsGpa;
  info.vcpu_slot_size = abi::kVcpuSlotSize;
  info.gdt_gpa = abi::kGdtGpa;
  info.idt_gpa = abi::kIdtGpa;
  info.kernel_base = kernel.kernel_base;
  info.kernel_end = kernel.kernel_end;
  info.ram_end = layout.ram_end();
  info.range_count = static_cast<uint32_t>(ranges.size());
  std::copy(ranges.begin(), ranges.end(), info.ranges);
  std::copy(config.vcpu_node.begin(), config.vcpu_node.end(), info.vcpu_node);

  const abi::SetupData header{
      .next = 0, .type = abi::kSetupDataSsivm, .len = sizeof(abi::SsivmInfo)};
  mem.WriteObject(abi::kSetupDataGpa, header);
  mem.WriteObject(abi::kSetupDataGpa + sizeof(abi::SetupData), info);
}

}  // namespace

uint64_t WriteBootInfo(const GuestMemory& mem, const GuestLayout& layout,
                       const LoadedKernel& kernel, const BootConfig& config,
                       const abi::SetupHeader* linux_hdr) {
  abi::BootParams bp{};
  uint64_t cmdline_limit = abi::kCmdlineMaxSize - 1;
  const uint64_t low_end = layout.ram.front().end();
  uint64_t initrd_end = low_end;
  if (linux_hdr != nullptr) {
    CopyLinuxHeader(*linux_hdr, &bp.hdr, config.kernel_name);
    const uint32_t kernel_limit =
        bp.hdr.cmdline_size != 0 ? bp.hdr.cmdline_size : kLegacyCmdlineSize;
    cmdline_limit = std::min<uint64_t>(cmdline_limit, kernel_limit);
    initrd_end = std::min(low_end, uint64_t{bp.hdr.initrd_addr_max} + 1);
  } else {
    FillElfHeader(&bp.hdr);
  }
  bp.hdr.type_of_loader = kTypeOfLoaderUndefined;

  WriteCmdline(mem, config, cmdline_limit, &bp.hdr);

  const std::vector<abi::E820Entry> e820 = BuildE820(layout);
  if (e820.size() > abi::kE820Max) {
    throw Error(
        fmt::format("e820 table has {} entries, boot_params holds {}", e820.size(), abi::kE820Max));
  }
  std::copy(e820.begin(), e820.end(), bp.e820_table);
  bp.e820_entries = static_cast<uint8_t>(e820.size());

  if (!config.initrd.empty()) WriteInitrd(mem, layout, kernel, config, initrd_end, &bp);

  WriteSsivmInfo(mem, layout, kernel, config, bp);
  bp.acpi_rsdp_addr = config.acpi_rsdp_gpa;
  bp.hdr.setup_data = abi::kSetupDataGpa;

  mem.WriteObject(abi::kBootParamsGpa, bp);
  return abi::kBootParamsGpa;
}

void SetBootFeatures(const GuestMemory& mem, uint32_t features) {
  mem.WriteObject(abi::kSetupDataGpa + sizeof(abi::SetupData) + offsetof(abi::SsivmInfo, features),
                  features);
}

void SetVcpuNode(const GuestMemory& mem, uint32_t vcpu, uint8_t node) {
  if (vcpu >= abi::kMaxVcpus) throw Error(fmt::format("vCPU {} has no entry in the boot info", vcpu));
  // One byte: the guest reads it with a single load, never half-written.
  mem.WriteObject(abi::kSetupDataGpa + sizeof(abi::SetupData) +
                      offsetof(abi::SsivmInfo, vcpu_node) + vcpu,
                  node);
}

}  // namespace ssivm

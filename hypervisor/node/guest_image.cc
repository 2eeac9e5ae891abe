#include "hypervisor/node/guest_image.h"

#include <sys/mman.h>

#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/file.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/devices/acpi_pm.h"
#include "hypervisor/devices/cmos_rtc.h"
#include "hypervisor/node/cache_budget.h"
#include "hypervisor/node/cluster_numa.h"
#include "hypervisor/node/cluster_runtime.h"
#include "hypervisor/x86/acpi.h"
#include "hypervisor/x86/descriptors.h"
#include "hypervisor/x86/page_tables.h"

namespace ssivm {
namespace {

constexpr uint64_t kMaxKernelBytes = 256ull << 20;

// ACPI tables in the boot region; returns the RSDP's address. `numa`: the
// proximity domains (SRAT, SLIT) of a guest spanning several nodes.
uint64_t WriteAcpiTables(const GuestMemory& mem, uint32_t vcpus, AcpiNuma numa) {
  AcpiConfig acpi;
  acpi.vcpus = vcpus;
  acpi.lapic_gpa = abi::kLapicGpa;
  acpi.ioapic_gpa = abi::kIoApicGpa;
  acpi.pm1a_evt_port = AcpiPm::kPort;
  acpi.pm1a_cnt_port = AcpiPm::kPort + 4;
  acpi.reset_port = ResetPort::kPort;
  acpi.rtc_century_index = kCmosCenturyIndex;
  acpi.numa = std::move(numa);
  const AcpiTables tables = BuildAcpiTables(acpi);
  mem.Write(tables.base_gpa, tables.bytes);
  return tables.rsdp_gpa;
}

// MemAvailable from /proc/meminfo, in MiB; nullopt if unknown.
std::optional<uint64_t> AvailableMiB() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib >> 10;
  }
  return std::nullopt;
}

void CheckHostMemory(uint64_t memory_mib) {
  const auto avail = AvailableMiB();
  if (avail && memory_mib > *avail) {
    throw Error(
        fmt::format("not enough host memory: the guest wants {} MiB, this host has {} MiB "
                    "available; use a smaller --memory",
                    memory_mib, *avail));
  }
}

// What cluster node `role` holds of the guest, approximated from the layout:
// the RAM it is home of; below SharedRamBase() the boot and node-private
// regions, which every node builds for itself (counted whole: the device
// node's home range starts there, so it counts those 16 MiB twice); and the
// kernel and initrd every node loads and keeps replicated read-only (their
// `image_bytes` stand for their loaded size).
NodeMemory NodeMemoryOf(const ClusterRole& role, uint64_t image_bytes) {
  constexpr uint64_t kMib = 1 << 20;
  const uint64_t home = role.view.Find(role.self)->memory_bytes;
  return {.home_mib = home / kMib,
          .private_mib = (SharedRamBase() + image_bytes + kMib - 1) / kMib,
          .remote_mib = (role.view.TotalMemoryBytes() - home) / kMib,
          .explicit_cache_mib = role.cache_mib,
          .vcpus = static_cast<uint32_t>(role.view.VcpusOf(role.self).size())};
}

// A cluster node checks what it holds, not the whole guest; returns its
// cache budget in MiB.
uint64_t CheckClusterNodeMemory(const ClusterRole& role, uint64_t image_bytes) {
  const NodeMemory node = NodeMemoryOf(role, image_bytes);
  const std::optional<uint64_t> available = AvailableMiB();
  const uint64_t cache_mib = CacheBudgetMib(node, available);
  CheckNodeMemory(node, cache_mib, available);
  return cache_mib;
}

// Huge pages on hardware KVM, where userfaultfd does not page the RAM in
// 4 KiB units. Where it does (`dsm`: a cluster node), none even if the
// host's THP is "always": a write before the fault engine starts (loading
// the guest) would fault in a 2 MiB page, making pages resident here that
// another node is home of.
GuestRam AllocateRam(const GuestLayout& layout, bool hardware, bool dsm) {
  constexpr uint64_t kAlign = abi::kLargePageSize;
  GuestRam ram;
  ram.mapping = Mapping::Anonymous(layout.memory_bytes + kAlign, "guest RAM");
  const auto raw = reinterpret_cast<uintptr_t>(ram.mapping.data());
  uint8_t* base = ram.mapping.data() + ((kAlign - raw % kAlign) % kAlign);
  // Fails (EINVAL) only on a kernel without THP, where neither matters.
  const bool huge = hardware && !dsm;
  if ((huge || dsm) &&
      ::madvise(base, layout.memory_bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0) {
    spdlog::debug("madvise of guest RAM: {}", ErrnoText(errno));
  }
  std::vector<GuestMemory::Region> regions;
  uint64_t offset = 0;
  for (const RamRange& r : layout.ram) {
    regions.push_back({r.gpa, r.size, base + offset});
    offset += r.size;
  }
  ram.memory = GuestMemory(std::move(regions));
  return ram;
}

// A cluster node's boot info names each range's home and each vCPU's node
// at once (guest node numbers).
void NameHomes(const ClusterRole& role, const GuestMemory& mem, BootConfig& boot) {
  boot.node_count = role.node_count();
  const dsm::HomeMap homes = HomesOf(role, mem);
  for (const auto& h : homes.ranges()) {
    boot.homes.push_back(
        {.base = h.base, .size = h.size, .kind = 0, .home_node = role.GuestNodeOf(h.home)});
  }
  for (const dsm::NodeId n : role.vcpu_node()) {
    boot.vcpu_node.push_back(static_cast<uint8_t>(role.GuestNodeOf(n)));
  }
}

}  // namespace

PreparedGuest PrepareGuest(const MachineConfig& cfg, HostKind kind) {
  const ClusterRole* role = cfg.cluster ? &*cfg.cluster : nullptr;
  PreparedGuest g{GuestLayout::Compute(cfg.memory_mib, cfg.vcpus), {}, {}, 0, 0, 0, 0};
  if (!role) CheckHostMemory(cfg.memory_mib);
  const std::vector<uint8_t> kernel_image = ReadFileBytes(cfg.kernel_path, kMaxKernelBytes);
  std::vector<uint8_t> initrd;
  if (!cfg.initrd_path.empty()) initrd = ReadFileBytes(cfg.initrd_path, g.layout.memory_bytes);
  if (role) g.cache_mib = CheckClusterNodeMemory(*role, kernel_image.size() + initrd.size());
  g.ram = AllocateRam(g.layout, kind == HostKind::kHardware, role != nullptr);
  const GuestMemory& mem = g.ram.memory;
  g.kernel = LoadKernel(kernel_image, cfg.kernel_path, mem, g.layout);
  BootConfig boot;
  boot.kernel_name = cfg.kernel_path;
  boot.cmdline = cfg.cmdline;
  boot.initrd = initrd;
  boot.initrd_name = cfg.initrd_path;
  boot.host_kind = kind;
  if (role) NameHomes(*role, mem, boot);
  // The guest's NUMA nodes (none for a single node) from the same homes.
  boot.acpi_rsdp_gpa =
      WriteAcpiTables(mem, cfg.vcpus, ClusterNuma(boot.node_count, boot.homes, boot.vcpu_node));
  g.boot_params = WriteBootInfo(mem, g.layout, g.kernel, boot,
                                g.kernel.setup_header ? &*g.kernel.setup_header : nullptr);

  PageTableOptions pt{};
  pt.tables_gpa = abi::kPageTablesGpa;
  pt.tables_max = abi::kPageTablesMaxSize;
  pt.map_end = g.layout.identity_map_end();
  pt.uncached_base = abi::kMmioHoleBase;
  pt.uncached_end = abi::kMmioHoleEnd;
  pt.user_accessible = kind == HostKind::kPvm;
  g.cr3 = BuildIdentityPageTables(mem, pt);
  g.gdt_limit = BuildGdt(mem, abi::kGdtGpa, cfg.vcpus);
  mem.Fill(abi::kIdtGpa, abi::kIdtSize, 0);
  for (uint32_t v = 0; v < cfg.vcpus; ++v) BuildTss(mem, v);
  return g;
}

std::vector<std::pair<uint64_t, uint64_t>> ReplicatedAtStart(const PreparedGuest& g) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const RamRange& r : g.kernel.read_only) out.emplace_back(r.gpa, r.size);
  const auto bp = g.ram.memory.ReadObject<abi::BootParams>(g.boot_params);
  const uint64_t start = abi::InitrdBase(bp);
  const uint64_t size = abi::InitrdSize(bp);
  if (size > 0) {
    const uint64_t first = start & ~(abi::kPageSize - 1);
    const uint64_t end = (start + size + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
    out.emplace_back(first, end - first);
  }
  return out;
}

}  // namespace ssivm

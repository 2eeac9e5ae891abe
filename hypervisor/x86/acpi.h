// ACPI tables for Linux guests: RSDP, XSDT, FADT (+FACS, DSDT), MADT and,
// for a machine of two or more NUMA nodes, SRAT and SLIT.
// Pure logic: builds bytes, no KVM. The MADT is how Linux finds the vCPUs
// (LAPICs) and the IOAPIC; the FADT names the power-management ports the VMM
// emulates (poweroff through PM1a control + the DSDT's \_S5, reboot through
// the reset register); the SRAT puts each vCPU and RAM range in a proximity
// domain (a Linux NUMA node) and the SLIT says how far the domains are from
// each other. Later: hot-plugged CPUs.
#ifndef SSIVM_HYPERVISOR_X86_ACPI_H_
#define SSIVM_HYPERVISOR_X86_ACPI_H_

#include <cstdint>
#include <span>
#include <vector>

namespace ssivm {

// Where the tables live: in the reserved part of the boot region (the BIOS
// area Linux also scans for the RSDP), below the 1 MiB line.
inline constexpr uint64_t kAcpiTablesGpa = 0xe0000;
inline constexpr uint64_t kAcpiTablesMaxSize = 0x10000;

// The sleep type the DSDT's \_S5 package gives (what the guest writes to
// PM1a_CNT.SLP_TYP to power off).
inline constexpr uint8_t kAcpiS5SleepType = 5;

// SLIT distances: a domain's own memory is 10 (ACPI's "local"), 255 means
// "unreachable"; any other pair lies strictly between.
inline constexpr uint8_t kAcpiLocalDistance = 10;
inline constexpr uint8_t kAcpiUnreachableDistance = 255;

// At most this many proximity domains: x86-64 Linux's default MAX_NUMNODES
// (NODES_SHIFT 6); a guest kernel seeing more drops the whole SRAT.
inline constexpr uint32_t kAcpiMaxNumaDomains = 64;

struct AcpiMemoryRange {
  uint64_t base = 0;  // guest-physical
  uint64_t size = 0;
};

// One proximity domain (a NUMA node to the guest): its vCPUs and its RAM.
struct AcpiNumaDomain {
  std::vector<uint32_t> apic_ids{};
  std::vector<AcpiMemoryRange> memory{};
};

// A machine's NUMA layout. With two or more domains the tables gain an SRAT
// and a SLIT; with fewer the description is ignored (one node needs none).
struct AcpiNuma {
  std::vector<AcpiNumaDomain> domains{};  // index: proximity domain
  // distances[i][j]: from domain i to domain j (the SLIT), D x D.
  std::vector<std::vector<uint8_t>> distances{};
};

struct AcpiConfig {
  uint32_t vcpus = 1;  // LAPIC ids 0..vcpus-1, all enabled
  uint64_t lapic_gpa = 0xfee00000;
  uint64_t ioapic_gpa = 0xfec00000;
  uint8_t ioapic_id = 0;  // 0: use `vcpus` (the first id after the LAPICs)
  uint8_t sci_irq = 9;
  uint16_t pm1a_evt_port = 0x600;  // 4 bytes: PM1 status, PM1 enable
  uint16_t pm1a_cnt_port = 0x604;  // 2 bytes: PM1 control
  uint16_t reset_port = 0xcf9;     // the reset register (1 byte)
  uint8_t reset_value = 0x06;
  uint8_t rtc_century_index = 0x32;  // CMOS register holding the century
  AcpiNuma numa{};
};

struct AcpiTables {
  uint64_t base_gpa;           // where `bytes` go in guest memory
  std::vector<uint8_t> bytes;  // RSDP first (16-byte aligned at base_gpa)
  uint64_t rsdp_gpa;           // for boot_params.acpi_rsdp_addr
};

// Builds every table with correct lengths and checksums. Throws Error if the
// configuration is impossible (0 vCPUs, more than 255 LAPIC ids, tables not
// fitting in max_size, base not 16-byte aligned or the tables not below 4 GiB)
// or, with two or more NUMA domains, the NUMA description is (a vCPU in no
// domain or in two, an APIC id >= vcpus, empty or overlapping memory ranges,
// a domain with neither vCPUs nor memory, a distance matrix that is not
// D x D or not a distance, more than kAcpiMaxNumaDomains domains).
AcpiTables BuildAcpiTables(const AcpiConfig& config, uint64_t base_gpa = kAcpiTablesGpa,
                           uint64_t max_size = kAcpiTablesMaxSize);

// The byte that makes `bytes` sum to 0 mod 256 when stored in it (with the
// checksum field itself still 0 in `bytes`).
uint8_t AcpiChecksum(std::span<const uint8_t> bytes);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_ACPI_H_

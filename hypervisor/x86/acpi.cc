#include "hypervisor/x86/acpi.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

constexpr char kOemId[] = "SSIVM ";         // 6 bytes
constexpr char kOemTableId[] = "SSIVMVM ";  // 8 bytes

// Little-endian appends into a growing table.
class Table {
 public:
  void U8(uint8_t v) { b_.push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Str(std::string_view s) { b_.insert(b_.end(), s.begin(), s.end()); }
  void Zeros(size_t n) { b_.insert(b_.end(), n, 0); }
  void Bytes(std::span<const uint8_t> s) { b_.insert(b_.end(), s.begin(), s.end()); }
  // Generic Address Structure for an I/O-port register.
  void IoGas(uint16_t port, uint8_t bit_width, uint8_t access_size) {
    U8(port == 0 ? 0 : 1);  // system I/O space
    U8(port == 0 ? 0 : bit_width);
    U8(0);
    U8(port == 0 ? 0 : access_size);
    U64(port);
  }
  // The standard 36-byte header; length and checksum are patched by Finish.
  void Header(std::string_view sig, uint8_t revision) {
    Str(sig);
    U32(0);  // length
    U8(revision);
    U8(0);  // checksum
    Str(std::string_view(kOemId, 6));
    Str(std::string_view(kOemTableId, 8));
    U32(1);  // OEM revision
    Str("SSIV");
    U32(1);  // creator revision
  }
  size_t size() const { return b_.size(); }
  // Patches the header's length and checksum.
  std::vector<uint8_t> Finish() {
    const auto len = static_cast<uint32_t>(b_.size());
    std::memcpy(&b_[4], &len, 4);
    b_[9] = AcpiChecksum(b_);
    return std::move(b_);
  }
  std::vector<uint8_t> Take() { return std::move(b_); }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> b_;
};

// FACS: no checksum; signature, length, then zeros (no waking vector, no
// global lock owner, no S4BIOS).
std::vector<uint8_t> BuildFacs() {
  Table t;
  t.Str("FACS");
  t.U32(64);
  t.Zeros(56);
  return t.Take();
}

std::vector<uint8_t> BuildDsdt() {
  Table t;
  t.Header("DSDT", 2);
  // Name (_S5, Package (4) { 5, 5, 0, 0 }): the sleep type for poweroff.
  const uint8_t aml[] = {
      0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, kAcpiS5SleepType, 0x0a, kAcpiS5SleepType,
      0x00, 0x00};
  t.Bytes(aml);
  return t.Finish();
}

std::vector<uint8_t> BuildFadt(const AcpiConfig& c, uint64_t facs, uint64_t dsdt) {
  Table t;
  t.Header("FACP", 4);
  t.U32(static_cast<uint32_t>(facs));
  t.U32(static_cast<uint32_t>(dsdt));
  t.U8(0);           // reserved
  t.U8(0);           // preferred PM profile: unspecified
  t.U16(c.sci_irq);  // SCI_INT
  t.U32(0);          // SMI_CMD: none, the machine is always in ACPI mode
  t.U8(0);           // ACPI_ENABLE
  t.U8(0);           // ACPI_DISABLE
  t.U8(0);           // S4BIOS_REQ
  t.U8(0);           // PSTATE_CNT
  t.U32(c.pm1a_evt_port);
  t.U32(0);  // PM1b_EVT_BLK
  t.U32(c.pm1a_cnt_port);
  t.U32(0);     // PM1b_CNT_BLK
  t.U32(0);     // PM2_CNT_BLK
  t.U32(0);     // PM_TMR_BLK: none (Linux uses kvmclock / TSC)
  t.U32(0);     // GPE0_BLK
  t.U32(0);     // GPE1_BLK
  t.U8(4);      // PM1_EVT_LEN
  t.U8(2);      // PM1_CNT_LEN
  t.U8(0);      // PM2_CNT_LEN
  t.U8(0);      // PM_TMR_LEN
  t.U8(0);      // GPE0_BLK_LEN
  t.U8(0);      // GPE1_BLK_LEN
  t.U8(0);      // GPE1_BASE
  t.U8(0);      // CST_CNT
  t.U16(101);   // P_LVL2_LAT: C2 not supported
  t.U16(1001);  // P_LVL3_LAT: C3 not supported
  t.U16(0);     // FLUSH_SIZE
  t.U16(0);     // FLUSH_STRIDE
  t.U8(0);      // DUTY_OFFSET
  t.U8(0);      // DUTY_WIDTH
  t.U8(0);      // DAY_ALRM
  t.U8(0);      // MON_ALRM
  t.U8(c.rtc_century_index);
  // IAPC_BOOT_ARCH: no VGA (bit 2); no 8042 (bit 1 clear) so Linux does not
  // probe a keyboard controller; the CMOS RTC is present (bit 5 clear).
  t.U16(1u << 2);
  t.U8(0);  // reserved
  // Flags: WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON (no fixed buttons),
  // RESET_REG_SUP.
  t.U32((1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 10));
  t.IoGas(c.reset_port, 8, 1);  // RESET_REG
  t.U8(c.reset_value);
  t.U16(0);  // ARM_BOOT_ARCH
  t.U8(0);   // FADT minor version
  t.U64(facs);
  t.U64(dsdt);
  t.IoGas(c.pm1a_evt_port, 32, 2);  // X_PM1a_EVT_BLK
  t.IoGas(0, 0, 0);                 // X_PM1b_EVT_BLK
  t.IoGas(c.pm1a_cnt_port, 16, 2);  // X_PM1a_CNT_BLK
  t.IoGas(0, 0, 0);                 // X_PM1b_CNT_BLK
  t.IoGas(0, 0, 0);                 // X_PM2_CNT_BLK
  t.IoGas(0, 0, 0);                 // X_PM_TMR_BLK
  t.IoGas(0, 0, 0);                 // X_GPE0_BLK
  t.IoGas(0, 0, 0);                 // X_GPE1_BLK
  return t.Finish();
}

std::vector<uint8_t> BuildMadt(const AcpiConfig& c) {
  Table t;
  t.Header("APIC", 3);
  t.U32(static_cast<uint32_t>(c.lapic_gpa));
  t.U32(1);  // PCAT_COMPAT: there are 8259 PICs too
  for (uint32_t v = 0; v < c.vcpus; ++v) {
    t.U8(0);  // processor local APIC
    t.U8(8);
    t.U8(static_cast<uint8_t>(v));  // ACPI processor UID
    t.U8(static_cast<uint8_t>(v));  // APIC id
    t.U32(1);                       // enabled
  }
  t.U8(1);  // I/O APIC
  t.U8(12);
  t.U8(c.ioapic_id != 0 ? c.ioapic_id : static_cast<uint8_t>(c.vcpus));
  t.U8(0);
  t.U32(static_cast<uint32_t>(c.ioapic_gpa));
  t.U32(0);  // GSI base
  // No override for ISA IRQ 0: KVM's default routing wires the PIT to IOAPIC
  // pin 0 (and PIC input 0), so GSI 0 = IRQ 0 as in the identity default.
  // The SCI: level triggered, active high.
  t.U8(2);
  t.U8(10);
  t.U8(0);
  t.U8(c.sci_irq);
  t.U32(c.sci_irq);
  t.U16(0x000d);
  // LINT1 of every LAPIC is the NMI input.
  t.U8(4);
  t.U8(6);
  t.U8(0xff);  // all processors
  t.U16(0);
  t.U8(1);  // LINT1
  return t.Finish();
}

// SRAT revision 3: after the header a reserved word that must be 1 (for
// backward compatibility) and 8 reserved bytes, then one structure per vCPU
// and per RAM range, all enabled.
std::vector<uint8_t> BuildSrat(const AcpiNuma& numa) {
  Table t;
  t.Header("SRAT", 3);
  t.U32(1);
  t.U64(0);
  for (uint32_t d = 0; d < numa.domains.size(); ++d) {
    for (const uint32_t apic : numa.domains[d].apic_ids) {
      t.U8(0);  // Processor Local APIC/SAPIC Affinity
      t.U8(16);
      t.U8(static_cast<uint8_t>(d));  // proximity domain [7:0]
      t.U8(static_cast<uint8_t>(apic));
      t.U32(1);                            // enabled
      t.U8(0);                             // local SAPIC EID
      t.U8(static_cast<uint8_t>(d >> 8));  // proximity domain [31:8]
      t.U16(static_cast<uint16_t>(d >> 16));
      t.U32(0);  // clock domain
    }
    for (const AcpiMemoryRange& r : numa.domains[d].memory) {
      t.U8(1);  // Memory Affinity
      t.U8(40);
      t.U32(d);
      t.U16(0);
      t.U64(r.base);
      t.U64(r.size);
      t.U32(0);
      t.U32(1);  // enabled; neither hot-pluggable nor non-volatile
      t.U64(0);
    }
  }
  return t.Finish();
}

// SLIT: the number of localities, then the D x D matrix row by row.
std::vector<uint8_t> BuildSlit(const AcpiNuma& numa) {
  Table t;
  t.Header("SLIT", 1);
  t.U64(numa.domains.size());
  for (const std::vector<uint8_t>& row : numa.distances) t.Bytes(row);
  return t.Finish();
}

std::vector<uint8_t> BuildXsdt(std::span<const uint64_t> tables) {
  Table t;
  t.Header("XSDT", 1);
  for (uint64_t a : tables) t.U64(a);
  return t.Finish();
}

std::vector<uint8_t> BuildRsdp(uint64_t xsdt) {
  Table t;
  t.Str("RSD PTR ");
  t.U8(0);  // checksum of the first 20 bytes
  t.Str(std::string_view(kOemId, 6));
  t.U8(2);    // revision: ACPI 2.0+
  t.U32(0);   // RSDT address: none (XSDT only)
  t.U32(36);  // length
  t.U64(xsdt);
  t.U8(0);  // extended checksum
  t.Zeros(3);
  std::vector<uint8_t> b = t.Take();
  b[8] = AcpiChecksum(std::span(b).first(20));
  b[32] = AcpiChecksum(b);
  return b;
}

void CheckNumaDomains(const AcpiNuma& numa) {
  if (numa.domains.size() > kAcpiMaxNumaDomains) {
    throw Error(
        fmt::format("ACPI NUMA: {} proximity domains, at most {} (a Linux guest's default "
                    "node limit)",
                    numa.domains.size(), kAcpiMaxNumaDomains));
  }
  for (size_t d = 0; d < numa.domains.size(); ++d) {
    if (numa.domains[d].apic_ids.empty() && numa.domains[d].memory.empty())
      throw Error(fmt::format("ACPI NUMA: proximity domain {} has neither vCPUs nor memory", d));
  }
}

// Every vCPU (APIC id 0..vcpus-1) in exactly one domain.
void CheckNumaVcpus(const AcpiNuma& numa, uint32_t vcpus) {
  constexpr size_t kNone = SIZE_MAX;
  std::vector<size_t> domain_of(vcpus, kNone);
  for (size_t d = 0; d < numa.domains.size(); ++d) {
    for (const uint32_t apic : numa.domains[d].apic_ids) {
      if (apic >= vcpus) {
        throw Error(
            fmt::format("ACPI NUMA: proximity domain {} names APIC id {}, but there are "
                        "{} vCPUs (APIC ids 0..{})",
                        d, apic, vcpus, vcpus - 1));
      }
      if (domain_of[apic] != kNone) {
        throw Error(fmt::format("ACPI NUMA: vCPU {} is in proximity domain {} and again in {}",
                                apic, domain_of[apic], d));
      }
      domain_of[apic] = d;
    }
  }
  const auto missing = std::ranges::find(domain_of, kNone);
  if (missing != domain_of.end()) {
    throw Error(
        fmt::format("ACPI NUMA: vCPU {} is in no proximity domain", missing - domain_of.begin()));
  }
}

// No empty range, none wrapping past 2^64, no two overlapping.
void CheckNumaMemory(const AcpiNuma& numa) {
  std::vector<std::tuple<uint64_t, uint64_t, size_t>> ranges;  // base, end, domain
  for (size_t d = 0; d < numa.domains.size(); ++d) {
    for (const AcpiMemoryRange& r : numa.domains[d].memory) {
      if (r.size == 0 || r.base + r.size < r.base) {
        throw Error(
            fmt::format("ACPI NUMA: proximity domain {} has a memory range at {:#x} of "
                        "{:#x} bytes: empty or past the end of the address space",
                        d, r.base, r.size));
      }
      ranges.emplace_back(r.base, r.base + r.size, d);
    }
  }
  std::ranges::sort(ranges);
  for (size_t i = 1; i < ranges.size(); ++i) {
    const auto [base, end, d] = ranges[i];
    const auto [prev_base, prev_end, prev_d] = ranges[i - 1];
    if (base < prev_end) {
      throw Error(
          fmt::format("ACPI NUMA: memory [{:#x}, {:#x}) of proximity domain {} overlaps "
                      "[{:#x}, {:#x}) of proximity domain {}",
                      base, end, d, prev_base, prev_end, prev_d));
    }
  }
}

void CheckNumaDistances(const AcpiNuma& numa) {
  const size_t n = numa.domains.size();
  if (numa.distances.size() != n) {
    throw Error(fmt::format("ACPI NUMA: the distance matrix has {} rows for {} proximity domains",
                            numa.distances.size(), n));
  }
  for (size_t i = 0; i < n; ++i) {
    if (numa.distances[i].size() != n) {
      throw Error(
          fmt::format("ACPI NUMA: row {} of the distance matrix has {} entries for {} "
                      "proximity domains",
                      i, numa.distances[i].size(), n));
    }
    for (size_t j = 0; j < n; ++j) {
      const uint8_t v = numa.distances[i][j];
      if (i == j && v != kAcpiLocalDistance) {
        throw Error(
            fmt::format("ACPI NUMA: the distance from proximity domain {} to itself is "
                        "{}, must be {}",
                        i, v, kAcpiLocalDistance));
      }
      if (i != j && (v <= kAcpiLocalDistance || v == kAcpiUnreachableDistance)) {
        throw Error(
            fmt::format("ACPI NUMA: the distance from proximity domain {} to {} is {}, "
                        "must be {}..{} ({} is local, {} unreachable)",
                        i, j, v, kAcpiLocalDistance + 1, kAcpiUnreachableDistance - 1,
                        kAcpiLocalDistance, kAcpiUnreachableDistance));
      }
    }
  }
}

bool HasNuma(const AcpiConfig& c) {
  return c.numa.domains.size() >= 2;
}

void CheckNuma(const AcpiConfig& c) {
  CheckNumaDomains(c.numa);
  CheckNumaVcpus(c.numa, c.vcpus);
  CheckNumaMemory(c.numa);
  CheckNumaDistances(c.numa);
}

}  // namespace

uint8_t AcpiChecksum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return static_cast<uint8_t>(-sum);
}

AcpiTables BuildAcpiTables(const AcpiConfig& c, uint64_t base, uint64_t max_size) {
  if (c.vcpus == 0) throw Error("ACPI tables: at least one vCPU is needed");
  if (c.vcpus > 255) {
    throw Error(fmt::format(
        "ACPI tables: {} vCPUs, but the MADT here describes at most 255 (8-bit APIC ids)",
        c.vcpus));
  }
  if (base % 64 != 0)
    throw Error(fmt::format("ACPI tables: base {:#x} is not 64-byte aligned", base));
  if (HasNuma(c)) CheckNuma(c);

  std::vector<uint8_t> out;
  auto place = [&](const std::vector<uint8_t>& table, size_t align) {
    while (out.size() % align != 0) out.push_back(0);
    const uint64_t gpa = base + out.size();
    out.insert(out.end(), table.begin(), table.end());
    return gpa;
  };
  out.resize(64);  // the RSDP goes first, once the XSDT's address is known
  const uint64_t facs = place(BuildFacs(), 64);
  const uint64_t dsdt = place(BuildDsdt(), 16);
  const uint64_t fadt = place(BuildFadt(c, facs, dsdt), 16);
  std::vector<uint64_t> tables = {fadt, place(BuildMadt(c), 16)};
  if (HasNuma(c)) {
    tables.push_back(place(BuildSrat(c.numa), 16));
    tables.push_back(place(BuildSlit(c.numa), 16));
  }
  const uint64_t xsdt = place(BuildXsdt(tables), 16);
  const std::vector<uint8_t> rsdp = BuildRsdp(xsdt);
  std::memcpy(out.data(), rsdp.data(), rsdp.size());
  if (out.size() > max_size) {
    throw Error(fmt::format("ACPI tables: {} bytes for {} vCPUs do not fit in {} bytes", out.size(),
                            c.vcpus, max_size));
  }
  if (base + out.size() > (1ull << 32)) {
    throw Error(fmt::format("ACPI tables at {:#x} must be below 4 GiB", base));
  }
  return AcpiTables{base, std::move(out), base};
}

}  // namespace ssivm

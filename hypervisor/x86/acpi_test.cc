#include "hypervisor/x86/acpi.h"

#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/command.h"
#include "common/error.h"
#include "common/file.h"
#include "common/temp_dir.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

uint32_t U32(const std::vector<uint8_t>& b, uint64_t off) {
  uint32_t v;
  std::memcpy(&v, &b[off], 4);
  return v;
}
uint64_t U64(const std::vector<uint8_t>& b, uint64_t off) {
  uint64_t v;
  std::memcpy(&v, &b[off], 8);
  return v;
}
uint8_t Sum(const std::vector<uint8_t>& b, uint64_t off, uint64_t len) {
  uint8_t s = 0;
  for (uint64_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + b[off + i]);
  return s;
}

struct Parsed {
  const AcpiTables* t;
  uint64_t Off(uint64_t gpa) const { return gpa - t->base_gpa; }
  std::string Sig(uint64_t gpa) const {
    return {reinterpret_cast<const char*>(&t->bytes[Off(gpa)]), 4};
  }
  uint32_t Len(uint64_t gpa) const { return U32(t->bytes, Off(gpa) + 4); }
  std::span<const uint8_t> Table(uint64_t gpa) const {
    return std::span(t->bytes).subspan(Off(gpa), Len(gpa));
  }
  // The XSDT's entries.
  std::vector<uint64_t> Tables() const {
    const uint64_t xsdt = U64(t->bytes, Off(t->rsdp_gpa) + 24);
    std::vector<uint64_t> out;
    for (uint64_t o = 36; o < Len(xsdt); o += 8) out.push_back(U64(t->bytes, Off(xsdt) + o));
    return out;
  }
  uint64_t Find(const std::string& sig) const {
    for (uint64_t a : Tables())
      if (Sig(a) == sig) return a;
    return 0;
  }
};

TEST(AcpiChecksum, MakesTheSumZero) {
  const std::vector<uint8_t> b = {1, 2, 3, 250};
  const uint8_t c = AcpiChecksum(b);
  EXPECT_EQ(static_cast<uint8_t>(1 + 2 + 3 + 250 + c), 0);
}

TEST(Acpi, RsdpIsValidAndPointsAtAnXsdt) {
  const AcpiTables t = BuildAcpiTables(AcpiConfig{.vcpus = 2});
  ASSERT_EQ(t.rsdp_gpa, kAcpiTablesGpa);
  EXPECT_EQ(t.rsdp_gpa % 16, 0u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t.bytes.data()), 8), "RSD PTR ");
  EXPECT_EQ(Sum(t.bytes, 0, 20), 0);
  EXPECT_EQ(Sum(t.bytes, 0, 36), 0);
  EXPECT_EQ(t.bytes[15], 2);  // revision
  Parsed p{&t};
  const uint64_t xsdt = U64(t.bytes, 24);
  EXPECT_EQ(p.Sig(xsdt), "XSDT");
  EXPECT_EQ(p.Tables().size(), 2u);
}

TEST(Acpi, EveryTableHasAValidChecksumAndFitsTheBlob) {
  const AcpiTables t = BuildAcpiTables(AcpiConfig{.vcpus = 4});
  Parsed p{&t};
  std::vector<uint64_t> all = p.Tables();
  all.push_back(U64(t.bytes, 24));                           // XSDT
  all.push_back(U64(t.bytes, p.Off(p.Find("FACP")) + 140));  // X_DSDT
  for (uint64_t a : all) {
    ASSERT_LE(p.Off(a) + p.Len(a), t.bytes.size()) << p.Sig(a);
    EXPECT_EQ(Sum(t.bytes, p.Off(a), p.Len(a)), 0) << p.Sig(a);
  }
  EXPECT_EQ(p.Sig(U64(t.bytes, p.Off(p.Find("FACP")) + 140)), "DSDT");
}

TEST(Acpi, FadtNamesThePowerManagementPortsAndTheResetRegister) {
  AcpiConfig c{.vcpus = 1};
  const AcpiTables t = BuildAcpiTables(c);
  Parsed p{&t};
  const uint64_t f = p.Off(p.Find("FACP"));
  EXPECT_EQ(p.Len(p.Find("FACP")), 244u);
  EXPECT_EQ(U32(t.bytes, f + 56), c.pm1a_evt_port);
  EXPECT_EQ(U32(t.bytes, f + 64), c.pm1a_cnt_port);
  EXPECT_EQ(t.bytes[f + 46], c.sci_irq);
  EXPECT_EQ(U32(t.bytes, f + 48), 0u);  // no SMI_CMD: always ACPI mode
  EXPECT_EQ(t.bytes[f + 116], 1);       // reset register in I/O space
  EXPECT_EQ(U64(t.bytes, f + 120), c.reset_port);
  EXPECT_EQ(t.bytes[f + 128], c.reset_value);
  EXPECT_NE(U32(t.bytes, f + 112) & (1u << 10), 0u);  // RESET_REG_SUP
  const uint64_t facs = U64(t.bytes, f + 132);
  EXPECT_EQ(facs % 64, 0u);
  EXPECT_EQ(p.Sig(facs), "FACS");
}

TEST(Acpi, DsdtDefinesS5) {
  const AcpiTables t = BuildAcpiTables(AcpiConfig{});
  Parsed p{&t};
  const uint64_t dsdt = U64(t.bytes, p.Off(p.Find("FACP")) + 140);
  const std::string body(reinterpret_cast<const char*>(&t.bytes[p.Off(dsdt) + 36]),
                         p.Len(dsdt) - 36);
  EXPECT_THAT(body, testing::HasSubstr("_S5_"));
}

TEST(Acpi, MadtListsOneEnabledLapicPerVcpuAndTheIoApic) {
  const AcpiTables t = BuildAcpiTables(AcpiConfig{.vcpus = 3});
  Parsed p{&t};
  const uint64_t m = p.Off(p.Find("APIC"));
  EXPECT_EQ(U32(t.bytes, m + 36), 0xfee00000u);
  int lapics = 0, ioapics = 0, overrides = 0;
  for (uint64_t o = m + 44; o < m + p.Len(p.Find("APIC"));) {
    const uint8_t type = t.bytes[o], len = t.bytes[o + 1];
    ASSERT_GT(len, 0);
    if (type == 0) {
      EXPECT_EQ(t.bytes[o + 3], lapics);  // APIC id
      EXPECT_EQ(U32(t.bytes, o + 4), 1u);
      ++lapics;
    } else if (type == 1) {
      EXPECT_EQ(t.bytes[o + 2], 3);  // first id after the LAPICs
      EXPECT_EQ(U32(t.bytes, o + 4), 0xfec00000u);
      ++ioapics;
    } else if (type == 2) {
      ++overrides;
    }
    o += len;
  }
  EXPECT_EQ(lapics, 3);
  EXPECT_EQ(ioapics, 1);
  EXPECT_EQ(overrides, 1);  // the SCI only: IRQ 0 stays on GSI 0
}

TEST(Acpi, BadConfigurationsAreRefusedWithClearErrors) {
  EXPECT_THROW(
      {
        try {
          BuildAcpiTables(AcpiConfig{.vcpus = 0});
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), testing::HasSubstr("at least one vCPU"));
          throw;
        }
      },
      Error);
  EXPECT_THROW(BuildAcpiTables(AcpiConfig{.vcpus = 256}), Error);
  EXPECT_THROW(BuildAcpiTables(AcpiConfig{.vcpus = 2}, 0xe0008), Error);
  EXPECT_THROW(
      {
        try {
          BuildAcpiTables(AcpiConfig{.vcpus = 200}, kAcpiTablesGpa, 512);
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), testing::HasSubstr("do not fit"));
          throw;
        }
      },
      Error);
}

// Two domains of a 3-vCPU machine: vCPUs 0 and 2 with the low 1 GiB; vCPU 1
// with the next 512 MiB and 256 MiB above 4 GiB (RAM split by the MMIO hole).
AcpiConfig TwoDomains() {
  AcpiConfig c{.vcpus = 3};
  c.numa.domains = {{.apic_ids = {0, 2}, .memory = {{.base = 0, .size = 1ull << 30}}},
                    {.apic_ids = {1},
                     .memory = {{.base = 1ull << 30, .size = 512ull << 20},
                                {.base = 1ull << 32, .size = 256ull << 20}}}};
  c.numa.distances = {{10, 40}, {40, 10}};
  return c;
}

// Three domains, one with memory only, and distances that differ per pair
// (and per direction: the SLIT may be asymmetric) so that their order shows.
AcpiConfig ThreeDomains() {
  AcpiConfig c{.vcpus = 2};
  c.numa.domains = {{.apic_ids = {1}, .memory = {{.base = 0, .size = 64ull << 20}}},
                    {.apic_ids = {}, .memory = {{.base = 64ull << 20, .size = 64ull << 20}}},
                    {.apic_ids = {0}, .memory = {{.base = 128ull << 20, .size = 128ull << 20}}}};
  c.numa.distances = {{10, 20, 30}, {21, 10, 25}, {31, 26, 10}};
  return c;
}

TEST(AcpiNuma, NoSratOrSlitBelowTwoDomains) {
  const AcpiTables plain = BuildAcpiTables(AcpiConfig{.vcpus = 3});
  AcpiConfig one{.vcpus = 3};
  one.numa.domains = {{.apic_ids = {0, 1, 2}, .memory = {{.base = 0, .size = 1ull << 30}}}};
  one.numa.distances = {{10}};
  const AcpiTables t = BuildAcpiTables(one);
  Parsed p{&t};
  EXPECT_EQ(p.Find("SRAT"), 0u);
  EXPECT_EQ(p.Find("SLIT"), 0u);
  EXPECT_EQ(t.bytes, plain.bytes);  // byte for byte what a machine without NUMA gets
}

TEST(AcpiNuma, SratAndSlitAreListedInTheXsdtWithValidChecksums) {
  const AcpiTables t = BuildAcpiTables(TwoDomains());
  Parsed p{&t};
  EXPECT_EQ(p.Tables().size(), 4u);
  const uint64_t srat = p.Find("SRAT"), slit = p.Find("SLIT");
  ASSERT_NE(srat, 0u);
  ASSERT_NE(slit, 0u);
  EXPECT_EQ(p.Len(srat), 48u + 3 * 16 + 3 * 40);
  EXPECT_EQ(p.Len(slit), 36u + 8 + 2 * 2);
  for (const uint64_t a : {srat, slit}) {
    ASSERT_LE(p.Off(a) + p.Len(a), t.bytes.size()) << p.Sig(a);
    EXPECT_EQ(Sum(t.bytes, p.Off(a), p.Len(a)), 0) << p.Sig(a);
  }
  EXPECT_EQ(t.bytes[p.Off(srat) + 8], 3);  // SRAT revision
  EXPECT_EQ(t.bytes[p.Off(slit) + 8], 1);  // SLIT revision
}

// The SRAT's structures as "kind: field=value ..." strings, order aside.
std::multiset<std::string> SratEntries(const AcpiTables& t) {
  Parsed p{&t};
  const uint64_t srat = p.Off(p.Find("SRAT"));
  const std::vector<uint8_t>& b = t.bytes;
  EXPECT_EQ(U32(b, srat + 36), 1u);  // reserved, 1 for backward compatibility
  std::multiset<std::string> out;
  for (uint64_t o = srat + 48; o < srat + p.Len(p.Find("SRAT"));) {
    const uint8_t type = b[o], len = b[o + 1];
    if (type == 0 && len == 16) {
      const uint32_t domain = b[o + 2] | (U32(b, o + 8) >> 8 << 8);
      out.insert(fmt::format("cpu: domain={} apic={} flags={} clock={}", domain, b[o + 3],
                             U32(b, o + 4), U32(b, o + 12)));
    } else if (type == 1 && len == 40) {
      out.insert(fmt::format("memory: domain={} base={:#x} length={:#x} flags={}", U32(b, o + 2),
                             U64(b, o + 8), U64(b, o + 16), U32(b, o + 28)));
    } else {
      ADD_FAILURE() << "SRAT structure of type " << int{type} << " and length " << int{len};
      break;
    }
    o += len;
  }
  return out;
}

TEST(AcpiNuma, SratPutsEveryVcpuAndRangeInItsDomainEnabled) {
  EXPECT_THAT(SratEntries(BuildAcpiTables(TwoDomains())),
              testing::UnorderedElementsAre(
                  "cpu: domain=0 apic=0 flags=1 clock=0", "cpu: domain=0 apic=2 flags=1 clock=0",
                  "cpu: domain=1 apic=1 flags=1 clock=0",
                  "memory: domain=0 base=0x0 length=0x40000000 flags=1",
                  "memory: domain=1 base=0x40000000 length=0x20000000 flags=1",
                  "memory: domain=1 base=0x100000000 length=0x10000000 flags=1"));
  EXPECT_THAT(SratEntries(BuildAcpiTables(ThreeDomains())),
              testing::UnorderedElementsAre(
                  "cpu: domain=0 apic=1 flags=1 clock=0", "cpu: domain=2 apic=0 flags=1 clock=0",
                  "memory: domain=0 base=0x0 length=0x4000000 flags=1",
                  "memory: domain=1 base=0x4000000 length=0x4000000 flags=1",
                  "memory: domain=2 base=0x8000000 length=0x8000000 flags=1"));
}

TEST(AcpiNuma, SlitHoldsTheMatrixRowByRow) {
  const AcpiTables t = BuildAcpiTables(ThreeDomains());
  Parsed p{&t};
  const uint64_t slit = p.Off(p.Find("SLIT"));
  EXPECT_EQ(U64(t.bytes, slit + 36), 3u);
  ASSERT_EQ(p.Len(p.Find("SLIT")), 36u + 8 + 9);
  const std::vector<uint8_t> matrix(t.bytes.begin() + static_cast<ptrdiff_t>(slit + 44),
                                    t.bytes.begin() + static_cast<ptrdiff_t>(slit + 53));
  EXPECT_EQ(matrix, (std::vector<uint8_t>{10, 20, 30, 21, 10, 25, 31, 26, 10}));
}

void ExpectRefused(const AcpiConfig& c, const std::string& words) {
  try {
    BuildAcpiTables(c);
    ADD_FAILURE() << "accepted; expected an error with: " << words;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(words));
  }
}

TEST(AcpiNuma, EveryVcpuIsInExactlyOneDomain) {
  AcpiConfig c = TwoDomains();
  c.numa.domains[0].apic_ids = {0};
  ExpectRefused(c, "ACPI NUMA: vCPU 2 is in no proximity domain");
  c.numa.domains[0].apic_ids = {0, 2, 1};
  ExpectRefused(c, "ACPI NUMA: vCPU 1 is in proximity domain 0 and again in 1");
  c.numa.domains[0].apic_ids = {0, 2, 2};
  ExpectRefused(c, "ACPI NUMA: vCPU 2 is in proximity domain 0 and again in 0");
  c.numa.domains[0].apic_ids = {0, 2, 3};
  ExpectRefused(c,
                "ACPI NUMA: proximity domain 0 names APIC id 3, but there are 3 vCPUs (APIC ids "
                "0..2)");
}

TEST(AcpiNuma, MemoryRangesAreNonEmptyAndDisjoint) {
  AcpiConfig c = TwoDomains();
  c.numa.domains[1].memory[1].size = 0;
  ExpectRefused(c, "proximity domain 1 has a memory range at 0x100000000 of 0x0 bytes: empty");
  c = TwoDomains();
  c.numa.domains[1].memory[1] = {.base = ~0ull - 4095, .size = 8192};
  ExpectRefused(c, "past the end of the address space");
  c = TwoDomains();
  c.numa.domains[1].memory[0].base = (1ull << 30) - 4096;
  ExpectRefused(c,
                "memory [0x3ffff000, 0x5ffff000) of proximity domain 1 overlaps [0x0, 0x40000000) "
                "of proximity domain 0");
  c = TwoDomains();
  c.numa.domains[1].memory[1] = {.base = (1ull << 30) + 4096, .size = 4096};
  ExpectRefused(c, "of proximity domain 1 overlaps [0x40000000, 0x60000000) of proximity domain 1");
  // Adjacent ranges touch without overlapping.
  c = TwoDomains();
  c.numa.domains[1].memory[1] = {.base = 3ull << 29, .size = 4096};
  EXPECT_NO_THROW(BuildAcpiTables(c));
}

TEST(AcpiNuma, EveryDomainHasVcpusOrMemory) {
  AcpiConfig c = ThreeDomains();
  c.numa.domains[1].memory.clear();
  ExpectRefused(c, "ACPI NUMA: proximity domain 1 has neither vCPUs nor memory");
}

TEST(AcpiNuma, TheDistanceMatrixIsSquareWithLocalOnTheDiagonal) {
  AcpiConfig c = ThreeDomains();
  c.numa.distances.pop_back();
  ExpectRefused(c, "ACPI NUMA: the distance matrix has 2 rows for 3 proximity domains");
  c = ThreeDomains();
  c.numa.distances[1].push_back(40);
  ExpectRefused(c, "ACPI NUMA: row 1 of the distance matrix has 4 entries for 3 proximity domains");
  c = ThreeDomains();
  c.numa.distances[2][2] = 11;
  ExpectRefused(c, "ACPI NUMA: the distance from proximity domain 2 to itself is 11, must be 10");
  for (const uint8_t bad : {0, 10, 255}) {
    c = ThreeDomains();
    c.numa.distances[1][2] = bad;
    ExpectRefused(c, fmt::format("ACPI NUMA: the distance from proximity domain 1 to 2 is {}, "
                                 "must be 11..254 (10 is local, 255 unreachable)",
                                 bad));
  }
  for (const uint8_t good : {11, 254}) {
    c = ThreeDomains();
    c.numa.distances[0][1] = good;
    EXPECT_NO_THROW(BuildAcpiTables(c)) << int{good};
  }
}

TEST(AcpiNuma, AtMostAsManyDomainsAsALinuxGuestTakes) {
  AcpiConfig c{.vcpus = kAcpiMaxNumaDomains + 1};
  for (uint32_t d = 0; d <= kAcpiMaxNumaDomains; ++d) {
    c.numa.domains.push_back({.apic_ids = {d}, .memory = {}});
    c.numa.distances.emplace_back(kAcpiMaxNumaDomains + 1, 40);
    c.numa.distances.back()[d] = 10;
  }
  ExpectRefused(c, "ACPI NUMA: 65 proximity domains, at most 64");
  c.vcpus = kAcpiMaxNumaDomains;
  c.numa.domains.pop_back();
  c.numa.distances.pop_back();
  for (auto& row : c.numa.distances) row.pop_back();
  EXPECT_NO_THROW(BuildAcpiTables(c));
}

TEST(AcpiNuma, TablesMustStillFit) {
  const uint64_t plain = BuildAcpiTables(AcpiConfig{.vcpus = 3}).bytes.size();
  try {
    BuildAcpiTables(TwoDomains(), kAcpiTablesGpa, plain + 64);  // not the SRAT's 216 bytes
    ADD_FAILURE() << "tables larger than their room were accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("do not fit"));
  }
}

// ACPICA's disassembler (iasl -d) reads each table independently of the code
// that wrote it. iasl comes with acpica-tools (./ssi test installs it).
struct Disassembly {
  std::string dsl;  // the .dsl iasl wrote
  std::string log;  // what it printed
};

Disassembly Iasl(std::span<const uint8_t> table, const std::string& name) {
  const TempDir dir("acpi-iasl");
  const std::string prefix = dir.path() + "/" + name;
  WriteFileAtomic(prefix + ".dat",
                  std::string_view(reinterpret_cast<const char*>(table.data()), table.size()),
                  0600);
  CapturedRun run;
  try {
    run = RunCapture({"iasl", "-p", prefix, "-d", prefix + ".dat"}, std::chrono::seconds(60));
  } catch (const Error& e) {
    throw Error(
        fmt::format("{}: this test checks the tables with iasl, ACPICA's disassembler; "
                    "install acpica-tools (apt-get install acpica-tools)",
                    e.what()));
  }
  EXPECT_EQ(run.exit_code, 0) << name << ": " << run.out << run.err;
  const std::vector<uint8_t> dsl = ReadFileBytes(prefix + ".dsl", 1 << 20);
  return {std::string(dsl.begin(), dsl.end()), run.out + run.err};
}

// No complaint from iasl, in its log or in the disassembly ("Incorrect
// checksum", "Invalid zero length subtable", ...).
void ExpectClean(const Disassembly& d, const std::string& name) {
  std::string all = d.log + d.dsl;
  for (char& ch : all) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* word : {"error", "warning", "incorrect", "invalid", "unknown"}) {
    if (all.find(word) != std::string::npos)
      ADD_FAILURE() << name << ": iasl says \"" << word << "\":\n" << d.log << d.dsl;
  }
}

// `s` without leading or trailing spaces, runs of spaces made one.
std::string Collapsed(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    if (ch == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += ch;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The disassembly's "Name : Value" fields, a new group at each "Subtable
// Type" (the first group is the table's header).
std::vector<std::map<std::string, std::string>> Groups(const std::string& dsl) {
  std::vector<std::map<std::string, std::string>> out(1);
  size_t begin = 0;
  while (begin < dsl.size()) {
    size_t end = dsl.find('\n', begin);
    if (end == std::string::npos) end = dsl.size();
    const std::string_view line(dsl.data() + begin, end - begin);
    begin = end + 1;
    const size_t colon = line.find(" : ");
    if (colon == std::string_view::npos) continue;
    const size_t bracket = line.find(']');
    const size_t name_at = bracket < colon ? bracket + 1 : 0;
    const std::string name = Collapsed(line.substr(name_at, colon - name_at));
    if (name == "Subtable Type") out.emplace_back();
    out.back()[name] = Collapsed(line.substr(colon + 3));
  }
  return out;
}

TEST(AcpiIasl, EveryTableDisassemblesCleanly) {
  const AcpiTables t = BuildAcpiTables(TwoDomains());
  Parsed p{&t};
  std::vector<uint64_t> all = p.Tables();
  all.push_back(U64(t.bytes, 24));                           // XSDT
  all.push_back(U64(t.bytes, p.Off(p.Find("FACP")) + 140));  // X_DSDT
  for (const uint64_t a : all) {
    const Disassembly d = Iasl(p.Table(a), p.Sig(a));
    ExpectClean(d, p.Sig(a));
    EXPECT_THAT(d.log, HasSubstr(p.Sig(a))) << "iasl did not decode it";
  }
  const Disassembly xsdt = Iasl(p.Table(U64(t.bytes, 24)), "XSDT");
  for (const char* sig : {"SRAT", "SLIT"}) {
    EXPECT_THAT(xsdt.dsl, HasSubstr(fmt::format(": {:016X}", p.Find(sig)))) << sig;
  }
}

TEST(AcpiIasl, SratNamesEveryVcpuAndRangeWithItsDomain) {
  for (const AcpiConfig& c : {TwoDomains(), ThreeDomains()}) {
    const AcpiTables t = BuildAcpiTables(c);
    Parsed p{&t};
    const Disassembly d = Iasl(p.Table(p.Find("SRAT")), "SRAT");
    ExpectClean(d, "SRAT");
    std::multiset<std::string> want, got;
    for (uint32_t dom = 0; dom < c.numa.domains.size(); ++dom) {
      for (const uint32_t apic : c.numa.domains[dom].apic_ids)
        want.insert(fmt::format("cpu {:02X} {:02X} 000000 enabled 1", dom, apic));
      for (const AcpiMemoryRange& r : c.numa.domains[dom].memory) {
        want.insert(fmt::format("memory {:08X} {:016X} {:016X} enabled 1 hotplug 0 nv 0", dom,
                                r.base, r.size));
      }
    }
    const auto groups = Groups(d.dsl);
    EXPECT_EQ(groups[0].at("Revision"), "03");
    for (size_t i = 1; i < groups.size(); ++i) {
      std::map<std::string, std::string> g = groups[i];
      if (g["Subtable Type"] == "00 [Processor Local APIC/SAPIC Affinity]") {
        got.insert(fmt::format("cpu {} {} {} enabled {}", g["Proximity Domain Low(8)"],
                               g["Apic ID"], g["Proximity Domain High(24)"], g["Enabled"]));
      } else {
        got.insert(fmt::format("memory {} {} {} enabled {} hotplug {} nv {}", g["Proximity Domain"],
                               g["Base Address"], g["Address Length"], g["Enabled"],
                               g["Hot Pluggable"], g["Non-Volatile"]));
      }
    }
    EXPECT_EQ(got, want);
  }
}

TEST(AcpiIasl, SlitHoldsTheMatrix) {
  const AcpiConfig c = ThreeDomains();
  const AcpiTables t = BuildAcpiTables(c);
  Parsed p{&t};
  const Disassembly d = Iasl(p.Table(p.Find("SLIT")), "SLIT");
  ExpectClean(d, "SLIT");
  const std::map<std::string, std::string> fields = Groups(d.dsl)[0];
  EXPECT_EQ(fields.at("Localities"), "0000000000000003");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(fields.at(fmt::format("Locality {}", i)),
              fmt::format("{:02X}", fmt::join(c.numa.distances[i], " ")));
  }
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/x86/acpi.h"

#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

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

}  // namespace
}  // namespace ssivm

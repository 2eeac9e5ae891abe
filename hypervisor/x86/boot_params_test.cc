#include "hypervisor/x86/boot_params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/x86/kernel_loader.h"
#include "hypervisor/x86/layout.h"
#include "hypervisor/x86/test_images.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;
using testing::MakeBzImage;
using testing::PatchHeader;
using testing::Pattern;
using testing::TestRam;
using testing::Unpacked;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

void ExpectEntry(const abi::E820Entry& e, uint64_t addr, uint64_t size, uint32_t type) {
  EXPECT_EQ(Unpacked(e.addr), addr);
  EXPECT_EQ(Unpacked(e.size), size);
  EXPECT_EQ(Unpacked(e.type), type);
}

TEST(E820Test, SmallGuest) {
  const auto e820 = BuildE820(GuestLayout::Compute(64, 1));
  ASSERT_EQ(e820.size(), 4u);
  ExpectEntry(e820[0], 0, abi::kLowRamEnd, abi::kE820Ram);
  ExpectEntry(e820[1], abi::kLowRamEnd, kMiB - abi::kLowRamEnd, abi::kE820Reserved);
  ExpectEntry(e820[2], kMiB, 15 * kMiB, abi::kE820Reserved);
  ExpectEntry(e820[3], 16 * kMiB, 48 * kMiB, abi::kE820Ram);
}

TEST(E820Test, GuestAbove4GiB) {
  const auto e820 = BuildE820(GuestLayout::Compute(5 << 10, 4));
  ASSERT_EQ(e820.size(), 5u);
  ExpectEntry(e820[3], 16 * kMiB, 3 * kGiB - 16 * kMiB, abi::kE820Ram);
  ExpectEntry(e820[4], 4 * kGiB, 2 * kGiB, abi::kE820Ram);
}

TEST(PlaceInitrdTest, HighestPageAlignedFit) {
  const GuestLayout layout = GuestLayout::Compute(64, 1);
  const uint64_t size = 10 * kMiB + 123;
  const uint64_t start = PlaceInitrd(layout, size, 20 * kMiB, 64 * kMiB);
  EXPECT_EQ(start % abi::kPageSize, 0u);
  EXPECT_LE(start + size, 64 * kMiB);
  EXPECT_GT(start + size + abi::kPageSize, 64 * kMiB);
  // A limit beyond RAM is clipped to RAM.
  EXPECT_EQ(PlaceInitrd(layout, size, 20 * kMiB, UINT64_MAX), start);
  // A lower limit moves it down.
  EXPECT_EQ(PlaceInitrd(layout, 4096, 20 * kMiB, 40 * kMiB + 100), 40 * kMiB - 4096);
}

TEST(PlaceInitrdTest, NeverBelowKernelBase) {
  const GuestLayout layout = GuestLayout::Compute(64, 1);
  EXPECT_THROW(PlaceInitrd(layout, 4096, 0, 16 * kMiB), Error);
}

TEST(PlaceInitrdTest, LargeGuestPrefersHighRamWhenAllowed) {
  const GuestLayout layout = GuestLayout::Compute(5 << 10, 1);
  EXPECT_EQ(PlaceInitrd(layout, kMiB, 32 * kMiB, UINT64_MAX), 6 * kGiB - kMiB);
  EXPECT_EQ(PlaceInitrd(layout, kMiB, 32 * kMiB, 0x80000000), 0x80000000 - kMiB);
}

TEST(PlaceInitrdTest, RejectsTooLarge) {
  const GuestLayout layout = GuestLayout::Compute(64, 1);
  try {
    PlaceInitrd(layout, 50 * kMiB, 20 * kMiB, 64 * kMiB);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("initrd of 52428800 bytes (50.0 MiB) does not fit"));
    EXPECT_THAT(e.what(), HasSubstr("largest free space there: 44.0 MiB"));
    EXPECT_THAT(e.what(), HasSubstr("more --memory"));
  }
}

// The ranges, sorted, must tile every RAM range exactly.
void ExpectRangesTileRam(const GuestLayout& layout, std::vector<abi::MemRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const abi::MemRange& a, const abi::MemRange& b) { return a.base < b.base; });
  size_t next = 0;
  for (const RamRange& r : layout.ram) {
    uint64_t cur = r.gpa;
    while (cur < r.end()) {
      ASSERT_LT(next, ranges.size()) << "RAM from " << std::hex << cur << " is not covered";
      ASSERT_EQ(ranges[next].base, cur) << "gap or overlap at " << std::hex << cur;
      ASSERT_GT(ranges[next].size, 0u);
      cur += ranges[next].size;
      ++next;
    }
    ASSERT_EQ(cur, r.end()) << "range crosses the end of RAM at " << std::hex << r.end();
  }
  EXPECT_EQ(next, ranges.size()) << "ranges outside RAM";
}

TEST(MemRangesTest, SmallGuest) {
  const GuestLayout layout = GuestLayout::Compute(64, 1);
  const auto ranges = BuildMemRanges(layout, 16 * kMiB, 16 * kMiB + 0x12345);
  ASSERT_EQ(ranges.size(), 4u);
  EXPECT_EQ(ranges[0].kind, abi::kRangeBoot);
  EXPECT_EQ(ranges[1].kind, abi::kRangePrivate);
  EXPECT_EQ(ranges[2].kind, abi::kRangeKernel);
  EXPECT_EQ(ranges[2].base, 16 * kMiB);
  EXPECT_EQ(ranges[2].size, 2 * kMiB);
  EXPECT_EQ(ranges[3].kind, abi::kRangeShared);
  EXPECT_EQ(ranges[3].base, 18 * kMiB);
  EXPECT_EQ(ranges[3].home_node, 0u);
  ExpectRangesTileRam(layout, ranges);
}

TEST(MemRangesTest, KernelAboveKernelBase) {
  const GuestLayout layout = GuestLayout::Compute(5 << 10, 2);
  const auto ranges = BuildMemRanges(layout, 32 * kMiB, 40 * kMiB);
  ExpectRangesTileRam(layout, ranges);
  EXPECT_EQ(ranges.size(), 6u);  // boot, private, kernel, [16, 32) MiB, [40 MiB, 3 GiB), high
}

// The guest's page allocator takes shared ranges: the initrd is never one.
TEST(MemRangesTest, InitrdIsItsOwnRange) {
  const GuestLayout layout = GuestLayout::Compute(128, 2);
  const auto ranges = BuildMemRanges(layout, 16 * kMiB, 17 * kMiB, 116 * kMiB, 12 * kMiB - 100);
  ExpectRangesTileRam(layout, ranges);
  const auto initrd = std::find_if(ranges.begin(), ranges.end(), [](const abi::MemRange& r) {
    return r.kind == abi::kRangeInitrd;
  });
  ASSERT_NE(initrd, ranges.end());
  EXPECT_EQ(initrd->base, 116 * kMiB);
  EXPECT_EQ(initrd->size, 12 * kMiB);
  for (const abi::MemRange& r : ranges) {
    if (r.kind == abi::kRangeShared) EXPECT_LE(r.base + r.size, 116 * kMiB);
  }
  // Right behind the kernel: its head lies in the kernel's 2 MiB, the rest is its own.
  const auto low = BuildMemRanges(layout, 16 * kMiB, 17 * kMiB, 17 * kMiB, 4 * kMiB);
  ExpectRangesTileRam(layout, low);
  EXPECT_THROW(BuildMemRanges(layout, 16 * kMiB, 17 * kMiB, 127 * kMiB, 4 * kMiB), Error);
}

TEST(MemRangesTest, RejectsKernelOutsideRam) {
  const GuestLayout layout = GuestLayout::Compute(64, 1);
  EXPECT_THROW(BuildMemRanges(layout, 8 * kMiB, 20 * kMiB), Error);
  EXPECT_THROW(BuildMemRanges(layout, 60 * kMiB, 70 * kMiB), Error);
}

// WriteBootInfo over a whole guest.
class BootInfoTest : public ::testing::Test {
 protected:
  explicit BootInfoTest(uint64_t memory_mib = 64)
      : layout_(GuestLayout::Compute(memory_mib, 2)), ram_(TestRam::ForLayout(layout_)) {}

  static LoadedKernel ElfKernel() {
    return {.format = LoadedKernel::Format::kElf,
            .entry = 16 * kMiB,
            .kernel_base = 16 * kMiB,
            .kernel_end = 16 * kMiB + 0x12345,
            .setup_header = std::nullopt,
            .read_only = {}};
  }
  static BootConfig Config(std::string cmdline = "console=hvc0") {
    return {.kernel_name = "kernel.elf",
            .cmdline = std::move(cmdline),
            .initrd = {},
            .initrd_name = "initrd.img",
            .host_kind = abi::HostKind::kPvm,
            .node_count = 1};
  }
  abi::BootParams Params() const {
    return ram_.mem().ReadObject<abi::BootParams>(abi::kBootParamsGpa);
  }
  abi::SsivmInfo Info() const {
    return ram_.mem().ReadObject<abi::SsivmInfo>(abi::kSetupDataGpa + sizeof(abi::SetupData));
  }
  std::string Cmdline() const {
    const auto bytes = ram_.mem().Span(abi::kCmdlineGpa, abi::kCmdlineMaxSize);
    return {reinterpret_cast<const char*>(bytes.data())};
  }
  std::string WriteError(const LoadedKernel& k, const BootConfig& c, const abi::SetupHeader* h) {
    try {
      WriteBootInfo(ram_.mem(), layout_, k, c, h);
    } catch (const ssivm::Error& e) {
      return e.what();
    }
    return "(no error)";
  }

  GuestLayout layout_;
  TestRam ram_;
};

TEST_F(BootInfoTest, ElfKernelHeaderAndCmdline) {
  ram_.mem().Fill(abi::kBootParamsGpa, 4096, 0xee);  // must be zeroed
  EXPECT_EQ(WriteBootInfo(ram_.mem(), layout_, ElfKernel(), Config(), nullptr),
            abi::kBootParamsGpa);
  const abi::BootParams bp = Params();
  EXPECT_EQ(Unpacked(bp.hdr.boot_flag), abi::kBootFlag);
  EXPECT_EQ(Unpacked(bp.hdr.header), abi::kHdrSMagic);
  EXPECT_EQ(Unpacked(bp.hdr.version), 0x020f);
  EXPECT_EQ(Unpacked(bp.hdr.xloadflags), abi::kXlfKernel64);
  EXPECT_EQ(Unpacked(bp.hdr.type_of_loader), 0xff);
  EXPECT_EQ(Unpacked(bp.hdr.cmd_line_ptr), abi::kCmdlineGpa);
  EXPECT_EQ(bp.ext_cmd_line_ptr, 0u);
  EXPECT_EQ(Unpacked(bp.hdr.ramdisk_image), 0u);
  EXPECT_EQ(Unpacked(bp.hdr.ramdisk_size), 0u);
  EXPECT_EQ(Unpacked(bp.hdr.setup_data), abi::kSetupDataGpa);
  EXPECT_EQ(bp.tboot_addr, 0u);
  EXPECT_EQ(bp.sentinel, 0);
  EXPECT_EQ(Cmdline(), "console=hvc0");

  ASSERT_EQ(bp.e820_entries, 4);
  const auto e820 = BuildE820(layout_);
  EXPECT_EQ(std::memcmp(bp.e820_table, e820.data(), e820.size() * sizeof(abi::E820Entry)), 0);
}

TEST_F(BootInfoTest, SsivmInfo) {
  BootConfig config = Config();
  config.node_count = 3;
  WriteBootInfo(ram_.mem(), layout_, ElfKernel(), config, nullptr);
  const auto sd = ram_.mem().ReadObject<abi::SetupData>(abi::kSetupDataGpa);
  EXPECT_EQ(sd.next, 0u);
  EXPECT_EQ(sd.type, abi::kSetupDataSsivm);
  EXPECT_EQ(sd.len, sizeof(abi::SsivmInfo));
  const abi::SsivmInfo info = Info();
  EXPECT_EQ(info.magic, abi::kSsivmInfoMagic);
  EXPECT_EQ(info.version, abi::kSsivmInfoVersion);
  EXPECT_EQ(info.size, sizeof(abi::SsivmInfo));
  EXPECT_EQ(info.host_kind, static_cast<uint32_t>(abi::HostKind::kPvm));
  EXPECT_EQ(info.vcpu_count, 2u);
  EXPECT_EQ(info.node_count, 3u);
  EXPECT_EQ(info.boot_vcpu, 0u);
  EXPECT_EQ(info.vcpu_slots_gpa, abi::kVcpuSlotsGpa);
  EXPECT_EQ(info.vcpu_slot_size, abi::kVcpuSlotSize);
  EXPECT_EQ(info.gdt_gpa, abi::kGdtGpa);
  EXPECT_EQ(info.idt_gpa, abi::kIdtGpa);
  EXPECT_EQ(info.kernel_base, 16 * kMiB);
  EXPECT_EQ(info.kernel_end, 16 * kMiB + 0x12345);
  EXPECT_EQ(info.ram_end, 64 * kMiB);
  EXPECT_EQ(info.features, 0u);
  ASSERT_LE(info.range_count, abi::kMaxMemRanges);
  ExpectRangesTileRam(layout_, {info.ranges, info.ranges + info.range_count});
}

TEST_F(BootInfoTest, FeaturesAreSetInTheWrittenInfo) {
  WriteBootInfo(ram_.mem(), layout_, ElfKernel(), Config(), nullptr);
  const abi::SsivmInfo before = Info();
  SetBootFeatures(ram_.mem(), abi::kFeatureIdlePort);
  abi::SsivmInfo after = Info();
  EXPECT_EQ(after.features, static_cast<uint32_t>(abi::kFeatureIdlePort));
  after.features = before.features;  // and nothing else changed
  EXPECT_EQ(std::memcmp(&after, &before, sizeof(after)), 0);
}

TEST_F(BootInfoTest, AcpiRsdpAddressIsPassedOn) {
  WriteBootInfo(ram_.mem(), layout_, ElfKernel(), Config(), nullptr);
  EXPECT_EQ(Params().acpi_rsdp_addr, 0u);  // none unless given
  BootConfig config = Config();
  config.acpi_rsdp_gpa = 0xe0000;
  WriteBootInfo(ram_.mem(), layout_, ElfKernel(), config, nullptr);
  EXPECT_EQ(Params().acpi_rsdp_addr, 0xe0000u);
}

TEST_F(BootInfoTest, RejectsTooLongCmdline) {
  EXPECT_EQ(WriteError(ElfKernel(), Config(std::string(abi::kCmdlineMaxSize - 1, 'x')), nullptr),
            "(no error)");
  EXPECT_EQ(Cmdline().size(), abi::kCmdlineMaxSize - 1);
  EXPECT_THAT(WriteError(ElfKernel(), Config(std::string(abi::kCmdlineMaxSize, 'x')), nullptr),
              HasSubstr("kernel.elf: kernel command line is 65536 bytes, the limit is 65535"));
  EXPECT_THAT(WriteError(ElfKernel(), Config(std::string("a\0b", 3)), nullptr),
              HasSubstr("NUL byte"));
}

TEST_F(BootInfoTest, BzImageHeaderCmdlineLimitAndInitrd) {
  std::vector<uint8_t> image = MakeBzImage(Pattern(8192, 4), 4, /*init_size=*/8 * kMiB);
  PatchHeader(image, [](abi::SetupHeader& h) {
    h.initrd_addr_max = 48 * kMiB - 1;
    h.cmdline_size = 100;
  });
  const LoadedKernel k = LoadKernel(image, "vmlinuz", ram_.mem(), layout_);
  ASSERT_EQ(k.format, LoadedKernel::Format::kBzImage);
  ASSERT_TRUE(k.setup_header.has_value());
  EXPECT_EQ(k.entry, 16 * kMiB + 0x200);
  EXPECT_EQ(k.kernel_end, 24 * kMiB);

  const std::vector<uint8_t> initrd = Pattern(5 * kMiB + 17, 5);
  BootConfig config = Config(std::string(100, 'c'));
  config.kernel_name = "vmlinuz";
  config.initrd = initrd;
  WriteBootInfo(ram_.mem(), layout_, k, config, &*k.setup_header);
  const abi::BootParams bp = Params();

  // The header is the image's, plus what the loader fills in.
  EXPECT_EQ(Unpacked(bp.hdr.version), 0x020f);
  EXPECT_EQ(Unpacked(bp.hdr.init_size), 8 * kMiB);
  EXPECT_EQ(Unpacked(bp.hdr.pref_address), abi::kKernelBase);
  EXPECT_EQ(Unpacked(bp.hdr.kernel_alignment), 2 * kMiB);
  EXPECT_EQ(Unpacked(bp.hdr.type_of_loader), 0xff);
  EXPECT_EQ(Unpacked(bp.hdr.cmd_line_ptr), abi::kCmdlineGpa);
  EXPECT_EQ(Unpacked(bp.hdr.setup_data), abi::kSetupDataGpa);

  const uint64_t start = bp.hdr.ramdisk_image | (uint64_t{bp.ext_ramdisk_image} << 32);
  const uint64_t size = bp.hdr.ramdisk_size | (uint64_t{bp.ext_ramdisk_size} << 32);
  EXPECT_EQ(size, initrd.size());
  EXPECT_EQ(start % abi::kPageSize, 0u);
  EXPECT_GE(start, k.kernel_end);
  EXPECT_LE(start + size, 48 * kMiB);
  EXPECT_GT(start + size + abi::kPageSize, 48 * kMiB);
  const auto loaded = ram_.mem().Span(start, size);
  EXPECT_TRUE(std::equal(initrd.begin(), initrd.end(), loaded.begin()));

  // The kernel's own command line limit applies.
  config.cmdline = std::string(101, 'c');
  EXPECT_THAT(WriteError(k, config, &*k.setup_header),
              HasSubstr("vmlinuz: kernel command line is 101 bytes, the limit is 100"));
}

TEST_F(BootInfoTest, RejectsTooLargeInitrd) {
  const std::vector<uint8_t> initrd(48 * kMiB, 1);
  BootConfig config = Config();
  config.initrd = initrd;
  const std::string error = WriteError(ElfKernel(), config, nullptr);
  EXPECT_THAT(error, HasSubstr("initrd.img: initrd of 50331648 bytes (48.0 MiB) does not fit"));
  EXPECT_THAT(error, HasSubstr("more --memory"));
}

class LargeBootInfoTest : public BootInfoTest {
 protected:
  LargeBootInfoTest() : BootInfoTest(5 << 10) {}
};

TEST_F(LargeBootInfoTest, RangesCoverAllRam) {
  const std::vector<uint8_t> initrd = Pattern(3 * kMiB, 7);
  BootConfig config = Config();
  config.initrd = initrd;
  WriteBootInfo(ram_.mem(), layout_, ElfKernel(), config, nullptr);
  const abi::BootParams bp = Params();
  EXPECT_EQ(bp.e820_entries, 5);
  EXPECT_EQ(bp.hdr.ramdisk_image + bp.hdr.ramdisk_size, 3 * kGiB);  // below the MMIO hole
  EXPECT_EQ(bp.ext_ramdisk_image, 0u);
  const abi::SsivmInfo info = Info();
  EXPECT_EQ(info.ram_end, 6 * kGiB);
  ExpectRangesTileRam(layout_, {info.ranges, info.ranges + info.range_count});
}

// A cluster's boot info, written once: shared RAM split by home, the
// vCPU-to-node table filled, the whole of RAM still covered once.
TEST_F(LargeBootInfoTest, AClustersHomesAndVcpuNodesAreWrittenOnce) {
  BootConfig config = Config();
  config.node_count = 2;
  // Node 0 home of [16 MiB, 2 GiB), node 1 of [2 GiB, 3 GiB) and all above 4 GiB.
  config.homes = {{.base = 16 * kMiB, .size = 2 * kGiB - 16 * kMiB, .kind = 0, .home_node = 0},
                  {.base = 2 * kGiB, .size = kGiB, .kind = 0, .home_node = 1},
                  {.base = 4 * kGiB, .size = 2 * kGiB, .kind = 0, .home_node = 1}};
  config.vcpu_node = {0, 1};
  WriteBootInfo(ram_.mem(), layout_, ElfKernel(), config, nullptr);
  const abi::SsivmInfo info = Info();
  EXPECT_EQ(info.node_count, 2u);
  EXPECT_EQ(info.vcpu_node[1], 1);
  const std::vector<abi::MemRange> ranges(info.ranges, info.ranges + info.range_count);
  ExpectRangesTileRam(layout_, ranges);
  uint64_t homed[2] = {0, 0};
  for (const abi::MemRange& r : ranges) {
    if (r.kind != abi::kRangeShared) continue;
    ASSERT_LT(r.home_node, 2u);
    homed[r.home_node] += r.size;
    EXPECT_TRUE(r.base >= 2 * kGiB ? r.home_node == 1 : r.home_node == 0) << r.base;
  }
  EXPECT_EQ(homed[1], 3 * kGiB);
  EXPECT_GT(homed[0], 0u);
}

TEST_F(LargeBootInfoTest, SharedRamPastTheHomesIsRefused) {
  BootConfig config = Config();
  config.homes = {{.base = 16 * kMiB, .size = kGiB, .kind = 0, .home_node = 0}};
  EXPECT_THAT(WriteError(ElfKernel(), config, nullptr),
              HasSubstr("extends past the nodes' contributions"));
  config.homes.clear();
  config.vcpu_node = {0, 0, 0};
  EXPECT_THAT(WriteError(ElfKernel(), config, nullptr),
              HasSubstr("a node for each of 3 vCPUs, but the guest has 2"));
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/x86/bzimage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"
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

std::string ParseError(const std::vector<uint8_t>& file) {
  try {
    ParseBzImage(file, "vmlinuz");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BzImageTest, ParsesGoodImage) {
  const std::vector<uint8_t> kernel = Pattern(10001, 3);
  const std::vector<uint8_t> file = MakeBzImage(kernel, /*setup_sects=*/4, 8 * kMiB);
  EXPECT_TRUE(LooksLikeBzImage(file));
  const BzImage bz = ParseBzImage(file, "vmlinuz");
  EXPECT_EQ(bz.setup_size, 5u * 512);
  EXPECT_EQ(bz.protected_mode.size(), 10016u);  // syssize rounds up to paragraphs
  EXPECT_EQ(bz.protected_mode.data(), file.data() + ptrdiff_t{5} * 512);
  EXPECT_EQ(bz.load_gpa, abi::kKernelBase);
  EXPECT_EQ(bz.entry64, abi::kKernelBase + 0x200);
  EXPECT_EQ(bz.footprint, 8 * kMiB);
  EXPECT_EQ(Unpacked(bz.hdr.version), 0x020f);
  EXPECT_EQ(Unpacked(bz.hdr.cmdline_size), 2047u);
}

TEST(BzImageTest, ZeroSetupSectsMeansFour) {
  const std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1), /*setup_sects=*/0);
  EXPECT_EQ(ParseBzImage(file, "vmlinuz").setup_size, 5u * 512);
}

TEST(BzImageTest, FootprintIsAtLeastTheKernel) {
  const std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1), 4, /*init_size=*/1024);
  EXPECT_EQ(ParseBzImage(file, "vmlinuz").footprint, 4096u);
}

TEST(BzImageTest, HeaderPastItsEndIsZeroed) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  // A protocol 2.12 header ends at 0x268: kernel_info_offset is code, not a field.
  file[0x201] = 0x268 - 0x202;
  PatchHeader(file, [](abi::SetupHeader& h) {
    h.version = 0x020c;
    h.kernel_info_offset = 0xdeadbeef;
  });
  const BzImage bz = ParseBzImage(file, "vmlinuz");
  EXPECT_EQ(Unpacked(bz.hdr.kernel_info_offset), 0u);
  EXPECT_EQ(Unpacked(bz.hdr.init_size), 8 * kMiB);
}

TEST(BzImageTest, RelocatesBelowKernelBase) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.pref_address = 0x100000; });
  EXPECT_EQ(ParseBzImage(file, "vmlinuz").load_gpa, abi::kKernelBase);
}

TEST(BzImageTest, AlignsPreferredAddress) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.pref_address = 0x1234567; });
  EXPECT_EQ(ParseBzImage(file, "vmlinuz").load_gpa, 0x1400000u);
}

TEST(BzImageTest, NonRelocatableLoadsAtPrefAddress) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) {
    h.relocatable_kernel = 0;
    h.pref_address = 0x2000000;
  });
  EXPECT_EQ(ParseBzImage(file, "vmlinuz").load_gpa, 0x2000000u);
}

TEST(BzImageTest, RejectsNonRelocatableBelowKernelBase) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) {
    h.relocatable_kernel = 0;
    h.pref_address = 0x100000;
  });
  EXPECT_THAT(ParseError(file), HasSubstr("vmlinuz: kernel is not relocatable and must run at "
                                          "0x100000, below ssivm's kernel base 0x1000000"));
}

TEST(BzImageTest, RejectsBadBootFlag) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.boot_flag = 0; });
  EXPECT_FALSE(LooksLikeBzImage(file));
  EXPECT_THAT(ParseError(file),
              HasSubstr("vmlinuz: not a bzImage: boot_flag is 0x0000, expected 0xaa55"));
}

TEST(BzImageTest, RejectsBadHeaderMagic) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.header = 0x53726449; });
  EXPECT_FALSE(LooksLikeBzImage(file));
  EXPECT_THAT(ParseError(file),
              HasSubstr("vmlinuz: not a bzImage: setup header magic is 0x53726449, expected "
                        "0x53726448 (\"HdrS\")"));
}

TEST(BzImageTest, RejectsOldProtocol) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.version = 0x020a; });
  EXPECT_THAT(ParseError(file), HasSubstr("vmlinuz: boot protocol 2.10 is too old; ssivm needs "
                                          "≥ 2.12 (64-bit entry)"));
}

TEST(BzImageTest, RejectsShortHeader) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  file[0x201] = 0x230 - 0x202;
  EXPECT_THAT(ParseError(file), HasSubstr("vmlinuz: setup header ends at 0x230"));
}

TEST(BzImageTest, RejectsNot64Bit) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.xloadflags = abi::kXlfCanBeLoadedAbove4G; });
  EXPECT_THAT(ParseError(file), HasSubstr("vmlinuz: not a 64-bit kernel: xloadflags 0x2 lack "
                                          "XLF_KERNEL_64"));
}

TEST(BzImageTest, RejectsNotLoadedHigh) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.loadflags = 0; });
  EXPECT_THAT(ParseError(file), HasSubstr("lack LOADED_HIGH"));
}

TEST(BzImageTest, RejectsTruncatedFile) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  file.resize(0x263);
  EXPECT_FALSE(LooksLikeBzImage(std::vector<uint8_t>(file.begin(), file.begin() + 0x100)));
  EXPECT_THAT(ParseError(file),
              HasSubstr("vmlinuz: truncated bzImage: 611 bytes, the setup header needs 0x264"));
}

TEST(BzImageTest, RejectsTruncatedSetup) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  file.resize(0x400);
  EXPECT_THAT(ParseError(file),
              HasSubstr("vmlinuz: truncated bzImage: 1024 bytes, the setup code alone needs 2560"));
}

TEST(BzImageTest, RejectsTruncatedSyssize) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  file.resize(file.size() - 16);
  EXPECT_THAT(ParseError(file), HasSubstr("vmlinuz: truncated bzImage: syssize says the kernel is "
                                          "4096 bytes, only 4080 follow the setup code"));
}

TEST(BzImageTest, RejectsZeroSyssize) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.syssize = 0; });
  EXPECT_THAT(ParseError(file), HasSubstr("syssize is 0"));
}

TEST(BzImageTest, RejectsBadAlignment) {
  std::vector<uint8_t> file = MakeBzImage(Pattern(4096, 1));
  PatchHeader(file, [](abi::SetupHeader& h) { h.kernel_alignment = 0x300000; });
  EXPECT_THAT(ParseError(file),
              HasSubstr("vmlinuz: kernel_alignment 0x300000 is not a power of two"));
  PatchHeader(file, [](abi::SetupHeader& h) { h.kernel_alignment = 0; });
  EXPECT_THAT(ParseError(file), HasSubstr("kernel_alignment 0x0 is not a power of two"));
}

TEST(BzImageTest, LoadsProtectedModePart) {
  const std::vector<uint8_t> kernel = Pattern(8192, 9);
  const std::vector<uint8_t> file = MakeBzImage(kernel);
  TestRam ram({{.gpa = 0, .size = 32 * kMiB}});
  const BzImage bz = ParseBzImage(file, "vmlinuz");
  LoadBzImage(bz, ram.mem(), "vmlinuz");
  const auto loaded = ram.mem().Span(abi::kKernelBase, kernel.size());
  EXPECT_TRUE(std::equal(kernel.begin(), kernel.end(), loaded.begin()));
}

TEST(BzImageTest, RejectsFootprintOutsideRam) {
  const std::vector<uint8_t> file = MakeBzImage(Pattern(8192, 9), 4, /*init_size=*/20 * kMiB);
  TestRam ram({{.gpa = 0, .size = 32 * kMiB}});
  const BzImage bz = ParseBzImage(file, "vmlinuz");
  try {
    LoadBzImage(bz, ram.mem(), "vmlinuz");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("vmlinuz: kernel needs guest RAM [0x1000000, 0x2400000) (20 "
                                    "MiB from init_size) but that is not inside guest RAM"));
    EXPECT_THAT(e.what(), HasSubstr("--memory"));
  }
}

}  // namespace
}  // namespace ssivm

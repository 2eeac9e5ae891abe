#include "hypervisor/x86/elf_loader.h"

#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "common/error.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/x86/kernel_loader.h"
#include "hypervisor/x86/layout.h"
#include "hypervisor/x86/test_images.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;
using testing::MakeElf;
using testing::Pattern;
using testing::TestRam;

constexpr uint64_t kText = abi::kKernelBase;
constexpr uint64_t kData = abi::kKernelBase + 0x10000;
constexpr uint64_t kEntry = kText + 0x10;

std::vector<uint8_t> GoodElf() {
  return MakeElf(
      kEntry,
      {{.gpa = kText, .data = Pattern(0x3000, 1), .mem_size = 0x3000, .flags = PF_R | PF_X},
       {.gpa = kData, .data = Pattern(0x100, 2), .mem_size = 0x2000, .flags = PF_R | PF_W}});
}

void PatchEhdr(std::vector<uint8_t>& file, const std::function<void(Elf64_Ehdr&)>& edit) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof(eh));
  edit(eh);
  std::memcpy(file.data(), &eh, sizeof(eh));
}

void PatchPhdr(std::vector<uint8_t>& file, size_t index,
               const std::function<void(Elf64_Phdr&)>& edit) {
  Elf64_Phdr ph;
  std::memcpy(&ph, file.data() + testing::ElfPhdrOffset(index), sizeof(ph));
  edit(ph);
  std::memcpy(file.data() + testing::ElfPhdrOffset(index), &ph, sizeof(ph));
}

std::string ParseError(const std::vector<uint8_t>& file) {
  try {
    ParseElf64(file, "kernel.elf");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string LoadError(const std::vector<uint8_t>& file) {
  TestRam ram({{.gpa = 0, .size = 64ull << 20}});
  try {
    LoadElf(ParseElf64(file, "kernel.elf"), file, ram.mem(), "kernel.elf");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ElfLoaderTest, ParsesGoodFile) {
  const std::vector<uint8_t> file = GoodElf();
  EXPECT_TRUE(LooksLikeElf(file));
  const ElfImage image = ParseElf64(file, "kernel.elf");
  EXPECT_EQ(image.entry, kEntry);
  ASSERT_EQ(image.segments.size(), 2u);
  EXPECT_EQ(image.segments[0].gpa, kText);
  EXPECT_EQ(image.segments[0].file_size, 0x3000u);
  EXPECT_TRUE(image.segments[0].executable);
  EXPECT_FALSE(image.segments[0].writable);
  EXPECT_EQ(image.segments[1].gpa, kData);
  EXPECT_EQ(image.segments[1].file_size, 0x100u);
  EXPECT_EQ(image.segments[1].mem_size, 0x2000u);
  EXPECT_FALSE(image.segments[1].executable);
  EXPECT_TRUE(image.segments[1].writable);
  EXPECT_EQ(image.lowest_gpa, kText);
  EXPECT_EQ(image.end_gpa, kData + 0x2000);
}

TEST(ElfLoaderTest, LoadsBytesAndZeroesBss) {
  const std::vector<uint8_t> file = GoodElf();
  TestRam ram({{.gpa = 0, .size = 64ull << 20}});
  ram.mem().Fill(kText, 0x20000, 0xcc);  // stale contents the loader must overwrite
  LoadElf(ParseElf64(file, "kernel.elf"), file, ram.mem(), "kernel.elf");

  const std::vector<uint8_t> text = Pattern(0x3000, 1);
  const std::vector<uint8_t> data = Pattern(0x100, 2);
  const auto loaded_text = ram.mem().Span(kText, text.size());
  const auto loaded_data = ram.mem().Span(kData, data.size());
  EXPECT_TRUE(std::equal(text.begin(), text.end(), loaded_text.begin()));
  EXPECT_TRUE(std::equal(data.begin(), data.end(), loaded_data.begin()));
  for (uint8_t b : ram.mem().Span(kData + 0x100, 0x2000 - 0x100)) ASSERT_EQ(b, 0);
  // Nothing outside the segments is touched.
  EXPECT_EQ(ram.mem().ReadObject<uint8_t>(kText + 0x3000), 0xcc);
  EXPECT_EQ(ram.mem().ReadObject<uint8_t>(kData + 0x2000), 0xcc);
}

TEST(ElfLoaderTest, LoadKernelDetectsElf) {
  const std::vector<uint8_t> file = GoodElf();
  const GuestLayout layout = GuestLayout::Compute(64, 1);
  TestRam ram = TestRam::ForLayout(layout);
  const LoadedKernel k = LoadKernel(file, "kernel.elf", ram.mem(), layout);
  EXPECT_EQ(k.format, LoadedKernel::Format::kElf);
  EXPECT_EQ(k.entry, kEntry);
  EXPECT_EQ(k.kernel_base, kText);
  EXPECT_EQ(k.kernel_end, kData + 0x2000);
  EXPECT_FALSE(k.setup_header.has_value());
}

TEST(ElfLoaderTest, LoadKernelRejectsUnknownFormat) {
  const GuestLayout layout = GuestLayout::Compute(64, 1);
  TestRam ram = TestRam::ForLayout(layout);
  const std::vector<uint8_t> junk(4096, 0x42);
  EXPECT_THROW(
      {
        try {
          LoadKernel(junk, "junk.bin", ram.mem(), layout);
        } catch (const Error& e) {
          EXPECT_STREQ(e.what(), "junk.bin: not an ELF64 kernel nor a Linux bzImage");
          throw;
        }
      },
      Error);
}

TEST(ElfLoaderTest, RejectsBadMagic) {
  std::vector<uint8_t> file = GoodElf();
  file[1] = 'X';
  EXPECT_FALSE(LooksLikeElf(file));
  EXPECT_THAT(ParseError(file), HasSubstr("kernel.elf: not an ELF file: bad magic 7f 58"));
}

TEST(ElfLoaderTest, RejectsTruncatedHeader) {
  std::vector<uint8_t> file = GoodElf();
  file.resize(40);
  EXPECT_THAT(ParseError(file), HasSubstr("kernel.elf: truncated ELF file: 40 bytes"));
}

TEST(ElfLoaderTest, Rejects32BitClass) {
  std::vector<uint8_t> file = GoodElf();
  file[EI_CLASS] = ELFCLASS32;
  EXPECT_THAT(ParseError(file), HasSubstr("kernel.elf: ELF class 1 is not ELFCLASS64"));
}

TEST(ElfLoaderTest, RejectsBigEndian) {
  std::vector<uint8_t> file = GoodElf();
  file[EI_DATA] = ELFDATA2MSB;
  EXPECT_THAT(ParseError(file), HasSubstr("not little-endian"));
}

TEST(ElfLoaderTest, RejectsWrongMachine) {
  std::vector<uint8_t> file = GoodElf();
  PatchEhdr(file, [](Elf64_Ehdr& eh) { eh.e_machine = EM_AARCH64; });
  EXPECT_THAT(ParseError(file), HasSubstr("kernel.elf: ELF machine 183 is not x86-64"));
}

TEST(ElfLoaderTest, RejectsSharedObject) {
  std::vector<uint8_t> file = GoodElf();
  PatchEhdr(file, [](Elf64_Ehdr& eh) { eh.e_type = ET_DYN; });
  EXPECT_THAT(ParseError(file), HasSubstr("ELF type 3 is not ET_EXEC"));
}

TEST(ElfLoaderTest, RejectsWrongPhentsize) {
  std::vector<uint8_t> file = GoodElf();
  PatchEhdr(file, [](Elf64_Ehdr& eh) { eh.e_phentsize = 32; });
  EXPECT_THAT(ParseError(file), HasSubstr("program header size is 32 bytes, expected 56"));
}

TEST(ElfLoaderTest, RejectsTruncatedProgramHeaders) {
  std::vector<uint8_t> file = GoodElf();
  file.resize(testing::ElfPhdrOffset(1) + 10);
  EXPECT_THAT(ParseError(file),
              HasSubstr("kernel.elf: truncated ELF file: program header table [0x40, +0x70) lies "
                        "outside the file (130 bytes)"));
}

TEST(ElfLoaderTest, RejectsOverflowingProgramHeaderOffset) {
  std::vector<uint8_t> file = GoodElf();
  PatchEhdr(file, [](Elf64_Ehdr& eh) { eh.e_phoff = UINT64_MAX - 8; });
  EXPECT_THAT(ParseError(file), HasSubstr("program header table [0xfffffffffffffff7, +0x70)"));
}

TEST(ElfLoaderTest, RejectsNoLoadSegment) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 0, [](Elf64_Phdr& ph) { ph.p_type = PT_NOTE; });
  PatchPhdr(file, 1, [](Elf64_Phdr& ph) { ph.p_type = PT_GNU_STACK; });
  EXPECT_THAT(ParseError(file), HasSubstr("kernel.elf: ELF file has no PT_LOAD segment"));
}

TEST(ElfLoaderTest, RejectsFileSizeAboveMemSize) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 1, [](Elf64_Phdr& ph) { ph.p_memsz = 0x80; });
  EXPECT_THAT(ParseError(file),
              HasSubstr("kernel.elf: program header 1: file size 0x100 exceeds memory size 0x80"));
}

TEST(ElfLoaderTest, RejectsSegmentPastEndOfFile) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 1, [&](Elf64_Phdr& ph) { ph.p_offset = file.size() - 0x10; });
  EXPECT_THAT(ParseError(file), HasSubstr("program header 1: file bytes"));
  EXPECT_THAT(ParseError(file), HasSubstr("lie outside the file"));
}

TEST(ElfLoaderTest, RejectsOverflowingSegmentOffset) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 0, [](Elf64_Phdr& ph) { ph.p_offset = UINT64_MAX - 0x100; });
  EXPECT_THAT(ParseError(file),
              HasSubstr("program header 0: file bytes [0xfffffffffffffeff, +0x3000) lie outside"));
}

TEST(ElfLoaderTest, RejectsSegmentWrappingAddressSpace) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 1, [](Elf64_Phdr& ph) { ph.p_paddr = UINT64_MAX - 0x1000; });
  EXPECT_THAT(ParseError(file), HasSubstr("program header 1: [0xffffffffffffefff, +0x2000) wraps"));
}

TEST(ElfLoaderTest, RejectsOverlappingSegments) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 1, [](Elf64_Phdr& ph) { ph.p_paddr = kText + 0x2000; });
  EXPECT_THAT(ParseError(file), HasSubstr("kernel.elf: segment 0 [0x1000000, 0x1003000) overlaps "
                                          "segment 1 [0x1002000, 0x1004000)"));
}

TEST(ElfLoaderTest, RejectsEntryOutsideSegments) {
  std::vector<uint8_t> file = GoodElf();
  PatchEhdr(file, [](Elf64_Ehdr& eh) { eh.e_entry = kText + 0x8000; });
  EXPECT_THAT(ParseError(file),
              HasSubstr("kernel.elf: entry point 0x1008000 is not inside an executable PT_LOAD"));
}

TEST(ElfLoaderTest, RejectsEntryInDataSegment) {
  std::vector<uint8_t> file = GoodElf();
  PatchEhdr(file, [](Elf64_Ehdr& eh) { eh.e_entry = kData; });
  EXPECT_THAT(ParseError(file), HasSubstr("entry point 0x1010000 is not inside an executable"));
}

TEST(ElfLoaderTest, RejectsSegmentBelowKernelBase) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 1, [](Elf64_Phdr& ph) { ph.p_paddr = 0x100000; });
  EXPECT_THAT(LoadError(file), HasSubstr("kernel.elf: segment 1 [0x100000, 0x102000) lies below "
                                         "the kernel base 0x1000000"));
}

TEST(ElfLoaderTest, RejectsSegmentOutsideRam) {
  std::vector<uint8_t> file = GoodElf();
  PatchPhdr(file, 1, [](Elf64_Phdr& ph) { ph.p_paddr = (64ull << 20) - 0x1000; });
  EXPECT_THAT(LoadError(file), HasSubstr("kernel.elf: segment 1 [0x3fff000, 0x4001000) lies "
                                         "outside guest RAM"));
}

}  // namespace
}  // namespace ssivm

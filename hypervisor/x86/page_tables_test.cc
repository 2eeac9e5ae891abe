#include "hypervisor/x86/page_tables.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/x86/test_images.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;
using testing::TestRam;

constexpr uint64_t kGiB = 1ull << 30;

class PageTablesTest : public ::testing::Test {
 protected:
  // Only the table area needs to be RAM: translation reads nothing else.
  PageTablesTest() : ram_({{.gpa = abi::kPageTablesGpa, .size = abi::kPageTablesMaxSize}}) {}

  static PageTableOptions Options(uint64_t map_end, bool user) {
    return {.tables_gpa = abi::kPageTablesGpa,
            .tables_max = abi::kPageTablesMaxSize,
            .map_end = map_end,
            .uncached_base = abi::kMmioHoleBase,
            .uncached_end = abi::kMmioHoleEnd,
            .user_accessible = user};
  }

  TestRam ram_;
};

TEST_F(PageTablesTest, IdentityMapsBelowAndAbove4GiB) {
  const uint64_t cr3 = BuildIdentityPageTables(ram_.mem(), Options(6 * kGiB, false));
  EXPECT_EQ(cr3, abi::kPageTablesGpa);
  for (uint64_t va : std::initializer_list<uint64_t>{0x0, 0x7000, 0x1000123, 0x3fffffff, 0xfee00000,
                                                     4 * kGiB, 5 * kGiB + 0x123456, 6 * kGiB - 1}) {
    uint64_t pa = 0, flags = 0;
    ASSERT_TRUE(TranslateVirtual(ram_.mem(), cr3, va, &pa, &flags)) << std::hex << va;
    EXPECT_EQ(pa, va);
    EXPECT_TRUE(flags & kPtePresent);
    EXPECT_TRUE(flags & kPteWrite);
    EXPECT_TRUE(flags & kPteLarge);
  }
  uint64_t pa, flags;
  EXPECT_FALSE(TranslateVirtual(ram_.mem(), cr3, 6 * kGiB, &pa, &flags));
  EXPECT_FALSE(TranslateVirtual(ram_.mem(), cr3, 512 * kGiB, &pa, &flags));
}

TEST_F(PageTablesTest, RoundsMapEndUpToGiB) {
  const uint64_t cr3 = BuildIdentityPageTables(ram_.mem(), Options(kGiB + 1, false));
  uint64_t pa, flags;
  EXPECT_TRUE(TranslateVirtual(ram_.mem(), cr3, 2 * kGiB - 1, &pa, &flags));
  EXPECT_FALSE(TranslateVirtual(ram_.mem(), cr3, 2 * kGiB, &pa, &flags));
}

TEST_F(PageTablesTest, UserBitOnlyWhenUserAccessible) {
  uint64_t pa, flags;
  uint64_t cr3 = BuildIdentityPageTables(ram_.mem(), Options(4 * kGiB, false));
  ASSERT_TRUE(TranslateVirtual(ram_.mem(), cr3, 0x1000000, &pa, &flags));
  EXPECT_FALSE(flags & kPteUser);
  const auto pml4e = ram_.mem().ReadObject<uint64_t>(cr3);
  EXPECT_FALSE(pml4e & kPteUser);

  cr3 = BuildIdentityPageTables(ram_.mem(), Options(4 * kGiB, true));
  ASSERT_TRUE(TranslateVirtual(ram_.mem(), cr3, 0x1000000, &pa, &flags));
  EXPECT_TRUE(flags & kPteUser);
  // Every level has U/S set, or the leaf's would not count.
  EXPECT_TRUE(ram_.mem().ReadObject<uint64_t>(cr3) & kPteUser);
  EXPECT_TRUE(ram_.mem().ReadObject<uint64_t>(cr3 + 4096) & kPteUser);
}

TEST_F(PageTablesTest, MmioHoleIsUncached) {
  const uint64_t cr3 = BuildIdentityPageTables(ram_.mem(), Options(8 * kGiB, false));
  uint64_t pa, flags;
  for (uint64_t va : std::initializer_list<uint64_t>{abi::kMmioHoleBase, abi::kIoApicGpa,
                                                     abi::kLapicGpa, 4 * kGiB - 1}) {
    ASSERT_TRUE(TranslateVirtual(ram_.mem(), cr3, va, &pa, &flags));
    EXPECT_TRUE(flags & kPteCacheDisable) << std::hex << va;
    EXPECT_TRUE(flags & kPteWriteThrough) << std::hex << va;
  }
  for (uint64_t va : std::initializer_list<uint64_t>{0x1000000, abi::kMmioHoleBase - 1, 4 * kGiB}) {
    ASSERT_TRUE(TranslateVirtual(ram_.mem(), cr3, va, &pa, &flags));
    EXPECT_FALSE(flags & kPteCacheDisable) << std::hex << va;
    EXPECT_FALSE(flags & kPteWriteThrough) << std::hex << va;
  }
}

TEST_F(PageTablesTest, RejectsTooSmallTableArea) {
  PageTableOptions opt = Options(8 * kGiB, false);
  opt.tables_max = uint64_t{4} * 4096;  // PML4 + PDPT + 2 PDs, 8 are needed
  try {
    BuildIdentityPageTables(ram_.mem(), opt);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("page tables for 8 GiB need 40 KiB, only 16 KiB reserved"));
  }
}

TEST_F(PageTablesTest, RejectsMoreThanOnePml4Slot) {
  EXPECT_THROW(BuildIdentityPageTables(ram_.mem(), Options(513 * kGiB, false)), Error);
}

}  // namespace
}  // namespace ssivm

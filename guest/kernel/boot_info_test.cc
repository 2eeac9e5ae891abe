// Host unit test of the boot-info parser: the structures are built in host
// memory, and their host addresses stand in for guest-physical ones.
#include "guest/kernel/boot_info.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace ssivm::guest {
namespace {

struct Blob {
  abi::SetupData other{};  // a foreign entry first: the parser must walk the list
  abi::SetupData header{};
  abi::SsivmInfo info{};
};

class BootInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    params_ = std::make_unique<abi::BootParams>();
    std::memset(params_.get(), 0, sizeof(abi::BootParams));
    blob_ = std::make_unique<Blob>();
    blob_->other.type = 1;  // SETUP_E820_EXT
    blob_->other.next = reinterpret_cast<uint64_t>(&blob_->header);
    blob_->header.type = abi::kSetupDataSsivm;
    blob_->header.len = sizeof(abi::SsivmInfo);
    abi::SsivmInfo& info = blob_->info;
    info.magic = abi::kSsivmInfoMagic;
    info.version = abi::kSsivmInfoVersion;
    info.size = sizeof(abi::SsivmInfo);
    info.host_kind = static_cast<uint32_t>(abi::HostKind::kPvm);
    info.vcpu_count = 2;
    info.vcpu_slots_gpa = abi::kVcpuSlotsGpa;
    info.vcpu_slot_size = abi::kVcpuSlotSize;
    info.idt_gpa = abi::kIdtGpa;
    info.range_count = 3;
    info.ranges[0] = {0, 1ull << 20, abi::kRangeBoot, 0};
    info.ranges[1] = {1ull << 20, 15ull << 20, abi::kRangePrivate, 0};
    info.ranges[2] = {16ull << 20, 112ull << 20, abi::kRangeShared, 0};
    params_->hdr.setup_data = reinterpret_cast<uint64_t>(&blob_->other);
    SetCmdline("ssi.exit=3");
  }

  void SetCmdline(const char* text) {
    std::strcpy(cmdline_, text);
    const auto gpa = reinterpret_cast<uint64_t>(cmdline_);
    params_->hdr.cmd_line_ptr = static_cast<uint32_t>(gpa);
    params_->ext_cmd_line_ptr = static_cast<uint32_t>(gpa >> 32);
  }

  const char* Parse() { return ParseBootInfo(params_.get(), &parsed_, &detail_); }

  std::unique_ptr<abi::BootParams> params_;
  std::unique_ptr<Blob> blob_;
  char cmdline_[64];
  BootInfo parsed_{};
  uint64_t detail_ = 0;
};

TEST_F(BootInfoTest, ParsesAValidTable) {
  ASSERT_EQ(Parse(), nullptr);
  EXPECT_EQ(parsed_.vcpu_count, 2u);
  EXPECT_EQ(parsed_.ram_bytes, 128ull << 20);
  EXPECT_EQ(parsed_.ssivm, &blob_->info);
  EXPECT_STREQ(parsed_.cmdline, "ssi.exit=3");
  EXPECT_EQ(parsed_.cmdline_max, abi::kCmdlineMaxSize);
}

TEST_F(BootInfoTest, NoCommandLineIsEmpty) {
  params_->hdr.cmd_line_ptr = 0;
  params_->ext_cmd_line_ptr = 0;
  ASSERT_EQ(Parse(), nullptr);
  EXPECT_STREQ(parsed_.cmdline, "");
}

TEST_F(BootInfoTest, RejectsMissingOrBrokenTables) {
  EXPECT_STREQ(ParseBootInfo(nullptr, &parsed_, &detail_), "no boot_params (RSI = 0)");

  blob_->header.type = 2;
  EXPECT_STREQ(Parse(), "no ssivm setup_data entry");
  blob_->header.type = abi::kSetupDataSsivm;

  blob_->header.next = reinterpret_cast<uint64_t>(&blob_->other);  // a loop, and no entry
  blob_->header.type = 2;
  EXPECT_STREQ(Parse(), "no ssivm setup_data entry");
  blob_->header.next = 0;
  blob_->header.type = abi::kSetupDataSsivm;

  blob_->info.magic = 0x12345678;
  EXPECT_STREQ(Parse(), "bad SsivmInfo magic");
  EXPECT_EQ(detail_, 0x12345678u);
  blob_->info.magic = abi::kSsivmInfoMagic;

  blob_->info.version = 2;
  EXPECT_STREQ(Parse(), "unsupported SsivmInfo version");
  blob_->info.version = abi::kSsivmInfoVersion;

  blob_->info.size = 8;
  EXPECT_STREQ(Parse(), "bad SsivmInfo size");
  blob_->info.size = sizeof(abi::SsivmInfo);

  blob_->info.vcpu_count = 0;
  EXPECT_STREQ(Parse(), "bad vCPU count");
  blob_->info.vcpu_count = abi::kMaxVcpus + 1;
  EXPECT_STREQ(Parse(), "bad vCPU count");
  blob_->info.vcpu_count = 2;

  blob_->info.idt_gpa = 0;
  EXPECT_STREQ(Parse(), "unexpected IDT address");
  blob_->info.idt_gpa = abi::kIdtGpa;

  blob_->info.range_count = abi::kMaxMemRanges + 1;
  EXPECT_STREQ(Parse(), "too many memory ranges");
  blob_->info.range_count = 3;

  EXPECT_EQ(Parse(), nullptr);
}

}  // namespace
}  // namespace ssivm::guest

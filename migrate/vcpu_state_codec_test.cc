#include "migrate/vcpu_state_codec.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::migrate {
namespace {

using ::testing::HasSubstr;

VcpuState Sample() {
  VcpuState s;
  s.vcpu = 3;
  s.regs.rip = 0x1000123;
  s.regs.rax = 42;
  s.sregs.cr3 = 0x101000;
  s.sregs.efer = 0xd01;
  s.xsave.emplace();
  s.xsave->region[7] = 0xdeadbeef;
  s.xcrs.emplace();
  s.xcrs->nr_xcrs = 1;
  s.xcrs->xcrs[0].value = 7;
  s.msrs = {{0xc0000082, 0xffffffff81000000}, {0x10, 123456789}};
  s.lapic.regs[0x20] = 3 << 0;  // the APIC id register's low byte
  s.events.exception.injected = 1;
  s.events.exception.nr = 14;
  s.mp_state = KVM_MP_STATE_HALTED;
  s.private_slot.assign(0x10000, 0);
  s.private_slot[0x2000] = 0x5a;
  return s;
}

std::string DecodeError(const std::vector<uint8_t>& bytes) {
  try {
    DecodeVcpuState(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(VcpuStateCodec, RoundTripsEverySection) {
  const VcpuState s = Sample();
  const VcpuState d = DecodeVcpuState(EncodeVcpuState(s));
  EXPECT_EQ(d.vcpu, 3u);
  EXPECT_EQ(std::memcmp(&d.regs, &s.regs, sizeof(s.regs)), 0);
  EXPECT_EQ(std::memcmp(&d.sregs, &s.sregs, sizeof(s.sregs)), 0);
  ASSERT_TRUE(d.xsave.has_value());
  EXPECT_EQ(d.xsave->region[7], 0xdeadbeefu);
  EXPECT_FALSE(d.fpu.has_value());
  ASSERT_TRUE(d.xcrs.has_value());
  EXPECT_EQ(d.xcrs->xcrs[0].value, 7u);
  EXPECT_EQ(d.msrs, s.msrs);
  EXPECT_EQ(std::memcmp(&d.lapic, &s.lapic, sizeof(s.lapic)), 0);
  EXPECT_EQ(d.events.exception.nr, 14);
  EXPECT_EQ(d.mp_state, static_cast<uint32_t>(KVM_MP_STATE_HALTED));
  EXPECT_EQ(d.private_slot, s.private_slot);
}

TEST(VcpuStateCodec, FpuInsteadOfXsaveAndNoOptionalParts) {
  VcpuState s;
  s.vcpu = 1;
  s.fpu.emplace();
  s.fpu->fcw = 0x37f;
  const VcpuState d = DecodeVcpuState(EncodeVcpuState(s));
  ASSERT_TRUE(d.fpu.has_value());
  EXPECT_EQ(d.fpu->fcw, 0x37f);
  EXPECT_FALSE(d.xsave.has_value());
  EXPECT_FALSE(d.xcrs.has_value());
  EXPECT_TRUE(d.msrs.empty());
  EXPECT_TRUE(d.private_slot.empty());
}

TEST(VcpuStateCodec, RejectsBadHeaders) {
  std::vector<uint8_t> b = EncodeVcpuState(Sample());
  EXPECT_THAT(DecodeError({1, 2, 3}), HasSubstr("shorter than its header"));
  std::vector<uint8_t> bad = b;
  bad[0] ^= 1;
  EXPECT_THAT(DecodeError(bad), HasSubstr("bad magic"));
  bad = b;
  bad[4] = 9;
  EXPECT_THAT(DecodeError(bad), HasSubstr("version 9"));
  bad = b;
  bad.push_back(0);
  EXPECT_THAT(DecodeError(bad), HasSubstr("1 bytes after the last section"));
  bad = b;
  bad[6] += 1;  // one section more than there is
  EXPECT_THAT(DecodeError(bad), HasSubstr("is cut off"));
}

// The first section (regs) starts right after the 12-byte header.
TEST(VcpuStateCodec, RejectsBadSections) {
  const std::vector<uint8_t> b = EncodeVcpuState(Sample());
  std::vector<uint8_t> bad = b;
  bad[12] = 99;
  EXPECT_THAT(DecodeError(bad), HasSubstr("unknown section 99"));
  bad = b;
  bad[14] = 1;
  EXPECT_THAT(DecodeError(bad), HasSubstr("nonzero reserved bits"));
  bad = b;
  bad[12] = 2;  // regs relabelled sregs: wrong size
  EXPECT_THAT(DecodeError(bad), HasSubstr("section sregs is"));
  bad = b;
  bad[16] = 0xff;
  bad[17] = 0xff;
  bad[18] = 0xff;
  EXPECT_THAT(DecodeError(bad), HasSubstr("only"));
}

TEST(VcpuStateCodec, RejectsMissingRepeatedAndOversizedParts) {
  VcpuState s = Sample();
  s.xsave.reset();
  EXPECT_THAT(DecodeError(EncodeVcpuState(s)), HasSubstr("neither fpu nor xsave"));
  s = Sample();
  s.private_slot.assign(0x10001, 0);
  EXPECT_THAT(DecodeError(EncodeVcpuState(s)), HasSubstr("private slot of 65537 bytes"));
  s = Sample();
  s.msrs.assign(kMaxMigratedMsrs + 1, {0x10, 0});
  EXPECT_THAT(DecodeError(EncodeVcpuState(s)), HasSubstr("section msrs"));
  // Drop the last section (the private slot) and claim one fewer: mp_state
  // stays; then cut mp_state too.
  std::vector<uint8_t> b = EncodeVcpuState(Sample());
  b.resize(b.size() - 8 - 0x10000);
  b[6] -= 1;
  EXPECT_NO_THROW(DecodeVcpuState(b));
  b.resize(b.size() - 8 - 4);
  b[6] -= 1;
  EXPECT_THAT(DecodeError(b), HasSubstr("section mp_state is missing"));
  // A section twice: repeat the mp_state section.
  std::vector<uint8_t> twice = EncodeVcpuState(Sample());
  twice.resize(twice.size() - 8 - 0x10000);
  const std::vector<uint8_t> mp(twice.end() - 12, twice.end());
  twice.insert(twice.end(), mp.begin(), mp.end());
  EXPECT_THAT(DecodeError(twice), HasSubstr("mp_state appears twice"));
}

}  // namespace
}  // namespace ssivm::migrate

#include "cluster/control_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/support/mutate.h"

namespace ssivm::cluster {
namespace {

using ::testing::HasSubstr;

std::vector<ControlMessage> Samples() {
  return {InterruptRequest{3, 0xf0, 1},
          IoRequest{77, 2, 0x3f8, 1, true, 'x'},
          IoReply{77, 0x60},
          Shutdown{-5, 2},
          MigrateOut{9, 1, 2, 40},
          VcpuStatePart{9, 1, 40, 70000, 4096, 4096, 123456789, 123556789},
          VcpuMoved{9, 1, 0, 2, 40, 1500000, 71800, 100000, 600000},
          ViewApplied{9, 40},
          PagesPulled{1, 2, 900},
          MoveFailed{9, 1, MoveFailed::kMoveBusy}};
}

std::string DecodeError(const std::vector<uint8_t>& payload) {
  try {
    DecodeControl(payload);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ControlMessage, EveryTypeRoundTrips) {
  for (const ControlMessage& m : Samples()) {
    const std::vector<uint8_t> payload = EncodeControl(m);
    const ControlMessage got = DecodeControl(payload);
    EXPECT_EQ(got.index(), m.index()) << ControlMessageName(m);
    EXPECT_EQ(EncodeControl(got), payload) << ControlMessageName(m);
  }
  const auto s = std::get<Shutdown>(DecodeControl(EncodeControl(Shutdown{-5, 2})));
  EXPECT_EQ(s.status, -5);
  EXPECT_EQ(s.origin, 2u);
}

TEST(ControlMessage, RejectsBadTypesSizesAndFields) {
  std::vector<uint8_t> f = EncodeControl(IoReply{1, 2});
  f[0] = 0x7f;
  EXPECT_THAT(DecodeError(f), HasSubstr("unknown control message type 127"));
  f = EncodeControl(IoReply{1, 2});
  f.push_back(0);
  EXPECT_THAT(DecodeError(f), HasSubstr("trailing"));
  f.resize(4);
  EXPECT_THAT(DecodeError(f), HasSubstr("truncated"));
  f = EncodeControl(IoRequest{1, 0, 0x3f8, 1, false, 0});
  f[1 + 14] = 3;
  EXPECT_THAT(DecodeError(f), HasSubstr("bad I/O size 3"));
  f = EncodeControl(IoRequest{1, 0, 0x3f8, 1, false, 0});
  f[1 + 15] = 2;
  EXPECT_THAT(DecodeError(f), HasSubstr("bad boolean 2"));
}

// A part must lie inside its state and fit in its page, without overflow.
TEST(ControlMessage, RejectsStatePartsOutsideTheirState) {
  EXPECT_THAT(DecodeError(EncodeControl(VcpuStatePart{1, 0, 0, 100, 90, 20, 0, 0})),
              HasSubstr("bad vCPU state part: 20 bytes at 90 of 100"));
  EXPECT_THAT(DecodeError(EncodeControl(VcpuStatePart{1, 0, 0, 9000, 0, 4097, 0, 0})),
              HasSubstr("4097 bytes"));
  EXPECT_THAT(DecodeError(EncodeControl(VcpuStatePart{1, 0, 0, 100, 0, 0, 0, 0})),
              HasSubstr("0 bytes"));
  EXPECT_THAT(
      DecodeError(EncodeControl(VcpuStatePart{1, 0, 0, 0xffffffff, 0xfffffff0, 0x100, 0, 0})),
      HasSubstr("bad vCPU state part"));
  EXPECT_EQ(DecodeError(EncodeControl(VcpuStatePart{1, 0, 0, 100, 96, 4, 0, 0})), "");
}

TEST(ControlMessage, FuzzedPayloadsAreRejectedOrCanonical) {
  std::vector<std::vector<uint8_t>> samples;
  for (const ControlMessage& m : Samples()) samples.push_back(EncodeControl(m));
  const testing::FuzzCounts counts = testing::FuzzDecoder(
      samples, 100000,
      [](const std::vector<uint8_t>& in, std::mt19937_64&) {
        return EncodeControl(DecodeControl(in));
      },
      [](const std::vector<uint8_t>&) { ADD_FAILURE() << "accepted a non-canonical payload"; });
  EXPECT_GT(counts.accepted, 1000);
  EXPECT_GT(counts.rejected, 1000);
}

}  // namespace
}  // namespace ssivm::cluster

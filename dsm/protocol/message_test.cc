#include "dsm/protocol/message.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {
namespace {

using ::testing::HasSubstr;

PageData Pattern(uint8_t seed) {
  PageData d;
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(seed + i * 7);
  return d;
}

std::vector<Message> Samples() {
  return {Hello{0x1122334455667788, kProtocolVersion, 3, 42},
          GetShared{123},
          GetModified{0xfffff},
          Invalidate{7},
          InvalidateAck{7},
          Forward{9, Access::kWrite},
          WriteBack{11, true, Pattern(1)},
          Grant{12, Access::kRead, DataKind::kZero, {}},
          Grant{13, Access::kWrite, DataKind::kBytes, Pattern(2)},
          InterruptRequest{3, 0xf0},
          IoRequest{77, 2, 0x3f8, 1, true, 'x'},
          IoReply{77, 0x60},
          Shutdown{-5, 2}};
}

std::vector<uint8_t> Bytes(NodeId sender, const Message& m) {
  std::vector<uint8_t> out;
  Encode(sender, m, out);
  return out;
}

std::string DecodeError(const std::vector<uint8_t>& frame) {
  try {
    Decode(frame);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Message, EveryTypeRoundTrips) {
  for (const Message& m : Samples()) {
    const std::vector<uint8_t> frame = Bytes(5, m);
    const Frame f = Decode(frame);
    EXPECT_EQ(f.sender, 5u);
    EXPECT_EQ(f.message.index(), m.index()) << MessageName(m);
    EXPECT_EQ(Bytes(5, f.message), frame) << MessageName(m);
  }
}

TEST(Message, GrantWithoutDataIsShort) {
  EXPECT_EQ(Bytes(0, Grant{1, Access::kRead, DataKind::kZero, {}}).size(), kHeaderSize + 10);
  EXPECT_EQ(Bytes(0, Grant{1, Access::kRead, DataKind::kBytes, {}}).size(),
            kHeaderSize + 10 + abi::kPageSize);
}

TEST(Message, RejectsBadHeaders) {
  std::vector<uint8_t> f = Bytes(1, GetShared{1});
  auto bad = f;
  bad[0] ^= 1;
  EXPECT_THAT(DecodeError(bad), HasSubstr("bad magic"));
  bad = f;
  bad[4] = 9;
  EXPECT_THAT(DecodeError(bad), HasSubstr("protocol version 9"));
  bad = f;
  bad[6] = 1;
  EXPECT_THAT(DecodeError(bad), HasSubstr("unknown flags"));
  bad = f;
  bad[5] = 77;
  EXPECT_THAT(DecodeError(bad), HasSubstr("unknown message type 77"));
  bad = f;
  bad[10] = 0x10;  // payload size > 1 MiB
  EXPECT_THAT(DecodeError(bad), HasSubstr("too large"));
  EXPECT_THAT(DecodeError({f.begin(), f.begin() + 10}), HasSubstr("truncated frame"));
}

TEST(Message, RejectsSizeMismatches) {
  std::vector<uint8_t> f = Bytes(1, GetShared{1});
  f.push_back(0);
  EXPECT_THAT(DecodeError(f), HasSubstr("announces"));
  f[8] += 1;  // announce the extra byte too
  EXPECT_THAT(DecodeError(f), HasSubstr("trailing"));
  std::vector<uint8_t> g = Bytes(1, WriteBack{1, false, {}});
  g.resize(g.size() - 100);
  const uint32_t payload = static_cast<uint32_t>(g.size() - kHeaderSize);
  for (int i = 0; i < 4; ++i) g[8 + i] = static_cast<uint8_t>(payload >> (8 * i));
  EXPECT_THAT(DecodeError(g), HasSubstr("truncated page data"));
}

TEST(Message, RejectsABadIoSize) {
  std::vector<uint8_t> f = Bytes(1, IoRequest{1, 0, 0x3f8, 1, false, 0});
  f[kHeaderSize + 14] = 3;
  EXPECT_THAT(DecodeError(f), HasSubstr("bad I/O size 3"));
}

TEST(Message, RejectsBadFieldValues) {
  std::vector<uint8_t> f = Bytes(1, Forward{1, Access::kRead});
  f.back() = 3;
  EXPECT_THAT(DecodeError(f), HasSubstr("bad access value 3"));
  std::vector<uint8_t> g = Bytes(1, Grant{1, Access::kRead, DataKind::kZero, {}});
  g.back() = 5;
  EXPECT_THAT(DecodeError(g), HasSubstr("bad data kind 5"));
  std::vector<uint8_t> w = Bytes(1, WriteBack{1, true, {}});
  w[kHeaderSize + 8] = 2;
  EXPECT_THAT(DecodeError(w), HasSubstr("bad boolean 2"));
}

// Mutation fuzzing: whatever a peer sends, Decode either rejects it with an
// Error or returns a message whose encoding is exactly the input (so nothing
// is accepted loosely). Run under ASan/UBSan for memory errors.
TEST(Message, FuzzedFramesAreRejectedOrCanonical) {
  std::mt19937_64 rng(12345);
  const std::vector<Message> samples = Samples();
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 200000; ++i) {
    std::vector<uint8_t> f = Bytes(rng() % 4, samples[rng() % samples.size()]);
    switch (rng() % 4) {
      case 0:  // flip bytes
        for (int k = 0, n = 1 + rng() % 4; k < n; ++k) f[rng() % f.size()] ^= 1 << (rng() % 8);
        break;
      case 1:  // truncate or extend
        f.resize(rng() % (f.size() + 8));
        break;
      case 2:  // random garbage of random size
        f.resize(rng() % 64);
        for (auto& b : f) b = static_cast<uint8_t>(rng());
        break;
      default:  // header bytes only
        f[rng() % kHeaderSize] = static_cast<uint8_t>(rng());
        break;
    }
    try {
      const Frame got = Decode(f);
      ASSERT_EQ(Bytes(got.sender, got.message), f) << "accepted a non-canonical frame";
      ++accepted;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace ssivm::dsm

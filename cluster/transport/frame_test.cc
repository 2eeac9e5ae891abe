#include "cluster/transport/frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::cluster {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> Header(const FrameHeader& h) {
  std::vector<uint8_t> out;
  EncodeFrameHeader(h, out);
  return out;
}

std::string HeaderError(const std::vector<uint8_t>& bytes) {
  try {
    DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize>(bytes.data(), kFrameHeaderSize));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Frame, HeadersRoundTrip) {
  for (const FrameHeader h :
       {FrameHeader{Channel::kCoherence, true, 11, 3}, FrameHeader{Channel::kControl, false, 0, 63},
        FrameHeader{Channel::kHandshake, false, kMaxFramePayload, 0}}) {
    const std::vector<uint8_t> bytes = Header(h);
    ASSERT_EQ(bytes.size(), kFrameHeaderSize);
    const FrameHeader got =
        DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize>(bytes.data(), bytes.size()));
    EXPECT_EQ(got.channel, h.channel);
    EXPECT_EQ(got.has_page, h.has_page);
    EXPECT_EQ(got.payload, h.payload);
    EXPECT_EQ(got.sender, h.sender);
  }
}

TEST(Frame, BadHeadersAreRejectedByName) {
  const std::vector<uint8_t> good = Header({Channel::kCoherence, false, 9, 1});
  auto bad = good;
  bad[0] ^= 1;
  EXPECT_THAT(HeaderError(bad), HasSubstr("bad magic"));
  bad = good;
  bad[4] = 9;
  EXPECT_THAT(HeaderError(bad), HasSubstr("protocol version 9"));
  bad = good;
  bad[5] = 7;
  EXPECT_THAT(HeaderError(bad), HasSubstr("unknown channel 7"));
  bad = good;
  bad[6] = 2;
  EXPECT_THAT(HeaderError(bad), HasSubstr("unknown flags 0x2"));
  bad = good;
  bad[9] = 0x10;  // 4 KiB of payload: pages never travel inside one
  EXPECT_THAT(HeaderError(bad), HasSubstr("too large"));
}

}  // namespace
}  // namespace ssivm::cluster

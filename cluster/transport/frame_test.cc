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

TEST(Frame, GoodbyeIsAnEmptyHandshakeFrame) {
  const std::vector<uint8_t> bytes = EncodeGoodbye(4);
  ASSERT_EQ(bytes.size(), kFrameHeaderSize);
  const FrameHeader h =
      DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize>(bytes.data(), bytes.size()));
  EXPECT_EQ(h.channel, Channel::kHandshake);
  EXPECT_EQ(h.payload, 0u);
  EXPECT_EQ(h.sender, 4u);
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

TEST(Frame, HelloRoundTripsAndRejectsTrailingBytes) {
  const Hello h{0x1122334455667788, kProtocolVersion, 3, 42};
  const std::vector<uint8_t> frame = EncodeHello(h);
  const std::vector<uint8_t> payload(frame.begin() + kFrameHeaderSize, frame.end());
  const Hello got = DecodeHello(payload);
  EXPECT_EQ(got.cluster_id, h.cluster_id);
  EXPECT_EQ(got.node_id, 3u);
  EXPECT_EQ(got.epoch, 42u);
  std::vector<uint8_t> longer = payload;
  longer.push_back(0);
  EXPECT_THROW(DecodeHello(longer), Error);
  EXPECT_THROW(DecodeHello({payload.begin(), payload.end() - 1}), Error);
}

}  // namespace
}  // namespace ssivm::cluster

#include "cluster/transport/frame_seal.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"

#include "common/error.h"

namespace ssivm::cluster {
namespace {

using ::testing::HasSubstr;

ClusterSecret Key(uint8_t b) {
  ClusterSecret k{};
  k.fill(b);
  return k;
}

std::vector<uint8_t> Head(const std::string& text, bool page = false) {
  std::vector<uint8_t> head;
  EncodeFrameHeader({Channel::kCoherence, page, static_cast<uint32_t>(text.size()), 1}, head);
  head.insert(head.end(), text.begin(), text.end());
  return head;
}

// What a receiver does with a sealed head: split it and open the payload.
std::string Open(FrameSeal& r, std::vector<uint8_t> sealed) {
  const size_t payload = sealed.size() - kFrameHeaderSize - r.tag_bytes();
  std::span<uint8_t> bytes(sealed);
  r.OpenPayload(bytes.first<kFrameHeaderSize>(), bytes.subspan(kFrameHeaderSize, payload),
                bytes.last<kTagBytes>());
  return {sealed.begin() + kFrameHeaderSize,
          sealed.begin() + static_cast<ptrdiff_t>(kFrameHeaderSize + payload)};
}

using testing::ErrorOf;

TEST(FrameSeal, EncryptedPayloadsAndPagesRoundTripAndHideTheirBytes) {
  FrameSeal s(TransportSecurity::kEncrypted, Key(1));
  FrameSeal r(TransportSecurity::kEncrypted, Key(1));
  PagePool pool;
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> head = Head("grant page 42");
    s.SealHead(head);
    ASSERT_EQ(head.size(), kFrameHeaderSize + 13 + kTagBytes);
    EXPECT_EQ(std::string(head.begin() + kFrameHeaderSize, head.begin() + kFrameHeaderSize + 13)
                  .find("grant"),
              std::string::npos);
    EXPECT_EQ(Open(r, head), "grant page 42");

    PageBuffer page = pool.Allocate();
    std::memset(page.mutable_data(), 'x', abi::kPageSize);
    PageBuffer wire;
    const Tag tag = s.SealPage(page, wire, pool);
    EXPECT_NE(wire.data(), page.data());  // the shared page itself never changes
    EXPECT_EQ(page.data()[0], 'x');
    EXPECT_NE(std::memcmp(wire.data(), page.data(), abi::kPageSize), 0);
    r.OpenPage({wire.mutable_data(), abi::kPageSize}, tag);
    EXPECT_TRUE(wire.SameBytes(page));
  }
}

TEST(FrameSeal, AuthenticatedFramesTravelInClearButAnyChangeIsCaught) {
  FrameSeal s(TransportSecurity::kAuthenticated, Key(1));
  FrameSeal r(TransportSecurity::kAuthenticated, Key(1));
  std::vector<uint8_t> head = Head("write back");
  s.SealHead(head);
  EXPECT_EQ(std::string(head.begin() + kFrameHeaderSize, head.begin() + kFrameHeaderSize + 10),
            "write back");
  std::vector<uint8_t> changed = head;
  changed[kFrameHeaderSize] ^= 1;
  EXPECT_THAT(ErrorOf([&] { Open(r, changed); }), HasSubstr("failed authentication"));

  PagePool pool;
  PageBuffer page = pool.Allocate();
  std::memset(page.mutable_data(), 'y', abi::kPageSize);
  PageBuffer wire;
  FrameSeal s2(TransportSecurity::kAuthenticated, Key(2));
  FrameSeal r2(TransportSecurity::kAuthenticated, Key(2));
  const Tag tag = s2.SealPage(page, wire, pool);
  EXPECT_EQ(wire.data(), page.data());  // no copy: only a tag
  std::vector<uint8_t> copy(page.data(), page.data() + abi::kPageSize);
  copy[100] ^= 4;
  EXPECT_THAT(ErrorOf([&] { r2.OpenPage(copy, tag); }), HasSubstr("page that failed"));
}

TEST(FrameSeal, AReplayedOrReorderedFrameFails) {
  FrameSeal s(TransportSecurity::kEncrypted, Key(3));
  FrameSeal r(TransportSecurity::kEncrypted, Key(3));
  std::vector<uint8_t> first = Head("one");
  std::vector<uint8_t> second = Head("two");
  s.SealHead(first);
  s.SealHead(second);
  EXPECT_EQ(Open(r, first), "one");
  EXPECT_THAT(ErrorOf([&] { Open(r, first); }), HasSubstr("failed authentication"));
  FrameSeal r2(TransportSecurity::kEncrypted, Key(3));
  EXPECT_THAT(ErrorOf([&] { Open(r2, second); }), HasSubstr("part 0"));
}

TEST(FrameSeal, AnotherKeyCannotOpen) {
  FrameSeal s(TransportSecurity::kEncrypted, Key(4));
  FrameSeal r(TransportSecurity::kEncrypted, Key(5));
  std::vector<uint8_t> head = Head("x");
  s.SealHead(head);
  EXPECT_THAT(ErrorOf([&] { Open(r, head); }), HasSubstr("failed authentication"));
}

TEST(FrameSeal, WithoutSecurityNothingIsAdded) {
  FrameSeal s(TransportSecurity::kNone, Key(0));
  EXPECT_EQ(s.tag_bytes(), 0u);
  std::vector<uint8_t> head = Head("plain");
  s.SealHead(head);
  EXPECT_EQ(head, Head("plain"));
}

}  // namespace
}  // namespace ssivm::cluster

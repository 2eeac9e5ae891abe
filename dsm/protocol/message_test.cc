#include "dsm/protocol/message.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/support/mutate.h"

namespace ssivm::dsm {
namespace {

using ::testing::HasSubstr;

PageBuffer Pattern(PagePool& pool, uint8_t seed) {
  PageBuffer b = pool.Allocate();
  for (size_t i = 0; i < abi::kPageSize; ++i)
    b.mutable_data()[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

std::vector<Message> Samples(PagePool& pool) {
  return {GetShared{123},
          GetModified{0xfffff},
          Invalidate{7},
          InvalidateAck{7},
          Forward{9, Access::kWrite},
          WriteBack{11, true, Pattern(pool, 1)},
          Grant{12, Access::kRead, DataKind::kZero, {}},
          Grant{13, Access::kWrite, DataKind::kBytes, Pattern(pool, 2)},
          PutShared{14},
          PutModified{15, Pattern(pool, 3)}};
}

PageBuffer PageFor(const Message& m) {
  const PageBuffer* p = DataOf(m);
  return p ? *p : PageBuffer();
}

std::string DecodeError(const std::vector<uint8_t>& payload, PageBuffer page = {}) {
  try {
    Decode(payload, std::move(page));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Message, EveryTypeRoundTripsAndPagesTravelAsHandles) {
  PagePool pool;
  for (const Message& m : Samples(pool)) {
    const std::vector<uint8_t> payload = EncodePayload(m);
    EXPECT_LE(payload.size(), 11u) << MessageName(m);  // pages never inside
    const Message got = Decode(payload, PageFor(m));
    EXPECT_EQ(got.index(), m.index()) << MessageName(m);
    EXPECT_EQ(EncodePayload(got), payload) << MessageName(m);
    if (const PageBuffer* p = DataOf(m)) {
      EXPECT_EQ(DataOf(got)->data(), p->data());
    }
  }
  EXPECT_EQ(pool.stats().copies, 0u);
}

TEST(Message, APageMustComeWithTheMessagesThatCarryOneAndOnlyThose) {
  PagePool pool;
  const PageBuffer page = Pattern(pool, 3);
  EXPECT_THAT(DecodeError(EncodePayload(WriteBack{1, false, {}})), HasSubstr("without its page"));
  EXPECT_THAT(DecodeError(EncodePayload(PutModified{1, {}})),
              HasSubstr("PutModified message without its page"));
  EXPECT_THAT(DecodeError(EncodePayload(PutShared{1}), pool.Allocate()),
              HasSubstr("PutShared message with a page it cannot carry"));
  EXPECT_THAT(DecodeError(EncodePayload(Grant{1, Access::kRead, DataKind::kBytes, {}})),
              HasSubstr("Grant message without its page"));
  EXPECT_THAT(DecodeError(EncodePayload(Grant{1, Access::kRead, DataKind::kZero, {}}), page),
              HasSubstr("cannot carry"));
  EXPECT_THAT(DecodeError(EncodePayload(GetShared{1}), page), HasSubstr("cannot carry"));
}

TEST(Message, RejectsBadTypesSizesAndFieldValues) {
  std::vector<uint8_t> f = EncodePayload(GetShared{1});
  f[0] = 77;
  EXPECT_THAT(DecodeError(f), HasSubstr("unknown coherence message type 77"));
  f = EncodePayload(GetShared{1});
  f.push_back(0);
  EXPECT_THAT(DecodeError(f), HasSubstr("trailing"));
  f.resize(5);
  EXPECT_THAT(DecodeError(f), HasSubstr("truncated"));
  EXPECT_THAT(DecodeError({}), HasSubstr("truncated"));
  f = EncodePayload(Forward{1, Access::kRead});
  f.back() = 3;
  EXPECT_THAT(DecodeError(f), HasSubstr("bad access value 3"));
  f = EncodePayload(Grant{1, Access::kRead, DataKind::kZero, {}});
  f.back() = 5;
  EXPECT_THAT(DecodeError(f), HasSubstr("bad data kind 5"));
  f = EncodePayload(WriteBack{1, true, {}});
  f.back() = 2;
  PagePool pool;
  EXPECT_THAT(DecodeError(f, pool.Allocate()), HasSubstr("bad boolean 2"));
}

// A page number whose address would not fit 64 bits would wrap to a real
// page (2^52 + p aliases p) once multiplied by the page size.
TEST(Message, PageNumbersBeyondAnyAddressAreRejected) {
  EXPECT_EQ(Decode(EncodePayload(GetShared{kMaxPageNumber}), {}).index(), 0u);
  for (const PageNumber p : {kMaxPageNumber + 1, (PageNumber{1} << 52) + 16, ~PageNumber{0}}) {
    EXPECT_THAT(DecodeError(EncodePayload(GetModified{p})), HasSubstr("beyond any guest address"))
        << p;
    EXPECT_THAT(DecodeError(EncodePayload(Invalidate{p})), HasSubstr("beyond any guest address"))
        << p;
  }
}

TEST(Message, FuzzedPayloadsAreRejectedOrCanonical) {
  PagePool pool;
  std::vector<std::vector<uint8_t>> samples;
  for (const Message& m : Samples(pool)) samples.push_back(EncodePayload(m));
  const PageBuffer page = Pattern(pool, 4);
  const testing::FuzzCounts counts = testing::FuzzDecoder(
      samples, 100000,
      [&](const std::vector<uint8_t>& in, std::mt19937_64& rng) {
        const Message m = Decode(in, rng() % 2 ? page : PageBuffer());
        return EncodePayload(m);
      },
      [](const std::vector<uint8_t>&) { ADD_FAILURE() << "accepted a non-canonical payload"; });
  EXPECT_GT(counts.accepted, 1000);
  EXPECT_GT(counts.rejected, 1000);
}

}  // namespace
}  // namespace ssivm::dsm

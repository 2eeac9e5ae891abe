#include "common/page_buffer.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace ssivm {
namespace {

TEST(PageBuffer, ACopyOfAPageHoldsItsBytesAndIsCounted) {
  PagePool pool;
  std::vector<uint8_t> page(abi::kPageSize);
  for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i * 7);
  const PageBuffer b = pool.CopyOf(page.data());
  EXPECT_EQ(std::memcmp(b.data(), page.data(), page.size()), 0);
  EXPECT_EQ(pool.stats().copies, 1u);

  std::vector<uint8_t> out(abi::kPageSize);
  b.CopyTo(out.data());
  EXPECT_EQ(out, page);
  EXPECT_EQ(pool.stats().copies, 2u);
}

TEST(PageBuffer, HandlesShareOneBufferWithoutCopying) {
  PagePool pool;
  PageBuffer a = pool.Allocate();
  std::memset(a.mutable_data(), 0x5a, abi::kPageSize);
  const PageBuffer b = a;  // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_EQ(a.data(), b.data());
  EXPECT_TRUE(a.SameBytes(b));
  EXPECT_EQ(pool.stats().copies, 0u);
  EXPECT_EQ(pool.stats().live, 1u);
}

TEST(PageBuffer, ReleasedBuffersAreReused) {
  PagePool pool;
  const uint8_t* first = nullptr;
  {
    const PageBuffer a = pool.Allocate();
    first = a.data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % abi::kPageSize, 0u);
  }
  EXPECT_EQ(pool.stats().live, 0u);
  const PageBuffer b = pool.Allocate();
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(pool.stats().allocations, 2u);
}

TEST(PageBuffer, ABufferMayOutliveItsPool) {
  PageBuffer b;
  {
    PagePool pool;
    b = pool.Allocate();
  }
  std::memset(b.mutable_data(), 1, abi::kPageSize);
  b.CountCopy();  // the pool's state lives as long as its buffers
  EXPECT_TRUE(b);
  EXPECT_FALSE(PageBuffer());
}

}  // namespace
}  // namespace ssivm

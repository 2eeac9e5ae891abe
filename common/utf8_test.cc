#include "common/utf8.h"

#include <gtest/gtest.h>

namespace ssivm {
namespace {

TEST(Utf8, AcceptsUtf8Text) {
  EXPECT_EQ(FirstInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("cluster_id = \"lab\"\n"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"),
            std::nullopt);  // é € 😀 U+10FFFF
}

TEST(Utf8, NamesTheFirstBadByte) {
  EXPECT_EQ(FirstInvalidUtf8("ab\xac"), 2u);            // a lone continuation byte
  EXPECT_EQ(FirstInvalidUtf8("x\xe9t\xe9"), 1u);        // Latin-1 é: lead without continuation
  EXPECT_EQ(FirstInvalidUtf8("ab\xc3"), 2u);            // cut off
  EXPECT_EQ(FirstInvalidUtf8("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("\xe0\x80\xaf"), 0u);      // overlong, 3 bytes
  EXPECT_EQ(FirstInvalidUtf8("\xed\xa0\x80"), 0u);      // a surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("\xff"), 0u);
}

}  // namespace
}  // namespace ssivm

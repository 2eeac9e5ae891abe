#include "common/xml_escape.h"

#include <gtest/gtest.h>

namespace ssivm {
namespace {

TEST(XmlEscape, EntitiesAndControlCharacters) {
  EXPECT_EQ(XmlEscape("a<b & 'c' > \"d\""), "a&lt;b &amp; &apos;c&apos; &gt; &quot;d&quot;");
  EXPECT_EQ(XmlEscape(std::string("x\ty\nz\r\x01\x1f", 8)), "x\ty\nz\r??");
  EXPECT_EQ(XmlEscape("gr\xc3\xbc\xc3\x9f"), "gr\xc3\xbc\xc3\x9f");  // UTF-8 stays
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/node/escape_filter.h"

#include <string>

#include <gtest/gtest.h>

namespace ssivm {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

TEST(EscapeFilter, PassesOrdinaryInput) {
  EscapeFilter f;
  std::vector<uint8_t> out;
  EXPECT_FALSE(f.Feed(Bytes("ls -l\r"), out));
  EXPECT_EQ(out, Bytes("ls -l\r"));
}

TEST(EscapeFilter, CtrlAxQuitsEvenAcrossReads) {
  EscapeFilter f;
  std::vector<uint8_t> out;
  EXPECT_FALSE(f.Feed(Bytes("ab\x01"), out));
  EXPECT_TRUE(f.Feed(Bytes("x rest"), out));
  EXPECT_EQ(out, Bytes("ab"));
}

TEST(EscapeFilter, DoubleCtrlASendsOneAndOtherKeysPassThrough) {
  EscapeFilter f;
  std::vector<uint8_t> out;
  EXPECT_FALSE(f.Feed(Bytes("\x01\x01z\x01q"), out));
  EXPECT_EQ(out, Bytes("\x01z\x01q"));
}

}  // namespace
}  // namespace ssivm

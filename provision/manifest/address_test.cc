#include <gtest/gtest.h>

#include "provision/manifest/address.h"

namespace ssivm::provision {
namespace {

TEST(Address, ParsesHostPortAndIpv6) {
  Address a;
  std::string e;
  ASSERT_TRUE(ParseAddress("node1:7400", &a, &e)) << e;
  EXPECT_EQ(a.host, "node1");
  EXPECT_EQ(a.port, 7400);
  ASSERT_TRUE(ParseAddress("[fd00::1]:1", &a, &e)) << e;
  EXPECT_EQ(a.host, "fd00::1");
  EXPECT_EQ(a.port, 1);
  EXPECT_FALSE(ParseAddress("[fd00::1]", &a, &e));
  EXPECT_EQ(e, "missing ':port' after ']'");
}

TEST(Address, FormatBracketsIpv6) {
  EXPECT_EQ(FormatAddress("fd00::1", 80), "[fd00::1]:80");
  EXPECT_EQ(FormatAddress("n1", 80), "n1:80");
}

TEST(Address, CheckHost) {
  EXPECT_EQ(CheckHost("node01.cluster"), "");
  EXPECT_EQ(CheckHost("10.1.2.3"), "");
  EXPECT_EQ(CheckHost("::1"), "");
  EXPECT_EQ(CheckHost(std::string(64, 'a')), "host name label longer than 63 characters");
  EXPECT_EQ(CheckHost(""), "empty host");
}

}  // namespace
}  // namespace ssivm::provision

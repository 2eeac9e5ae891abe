#include <gtest/gtest.h>

#include "provision/packages/version.h"

namespace ssivm::provision {
namespace {

TEST(Version, CompareLikeDpkg) {
  EXPECT_EQ(CompareVersions("1.0", "1.0"), 0);
  EXPECT_LT(CompareVersions("1.2", "1.10"), 0);
  EXPECT_GT(CompareVersions("3.5.7", "3.5.0"), 0);
  EXPECT_LT(CompareVersions("1.0~rc1", "1.0"), 0);
  EXPECT_GT(CompareVersions("1:0.1", "9.9"), 0);
  EXPECT_LT(CompareVersions("2.4.4-1", "2.4.4-2"), 0);
  EXPECT_EQ(CompareVersions("01.0", "1.0"), 0);
  EXPECT_GT(CompareVersions("1.0a", "1.0"), 0);
  EXPECT_GT(CompareVersions("3.4.5+6-4.1", "3.4.5-4.1"), 0);
}

TEST(Version, Relations) {
  EXPECT_TRUE(Satisfies("3.5.0", Relation::kGreaterEqual, "3.5.0"));
  EXPECT_FALSE(Satisfies("3.4.9", Relation::kGreaterEqual, "3.5.0"));
  EXPECT_TRUE(Satisfies("2", Relation::kGreater, "1.9"));
  EXPECT_FALSE(Satisfies("2", Relation::kGreater, "2"));
  EXPECT_TRUE(Satisfies("1", Relation::kLess, "2"));
  EXPECT_FALSE(Satisfies("2", Relation::kLess, "2"));
  EXPECT_TRUE(Satisfies("2", Relation::kLessEqual, "2"));
  EXPECT_TRUE(Satisfies("2.0", Relation::kEqual, "2.0"));
  EXPECT_FALSE(Satisfies("2.0", Relation::kEqual, "2.1"));
  EXPECT_TRUE(Satisfies("anything", Relation::kAny, ""));
}

TEST(Version, ParseRelation) {
  EXPECT_EQ(ParseRelation(">="), Relation::kGreaterEqual);
  EXPECT_EQ(ParseRelation("gte"), Relation::kGreaterEqual);
  EXPECT_EQ(ParseRelation("<"), Relation::kLess);
  EXPECT_EQ(ParseRelation(""), Relation::kAny);
  EXPECT_EQ(ParseRelation("=>"), std::nullopt);
}

}  // namespace
}  // namespace ssivm::provision

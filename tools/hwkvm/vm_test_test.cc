#include "tools/hwkvm/vm_test.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ssivm::hwkvm {
namespace {

using ::testing::ElementsAre;

TEST(VmTest, OnlyOutermostDirectoriesAreShared) {
  EXPECT_THAT(OutermostDirs({"/a/b/c", "/a/b", "/a/bc", "/x/", "/a/b"}),
              ElementsAre("/a/b", "/a/bc", "/x"));
  EXPECT_THAT(OutermostDirs({"/", "/a"}), ElementsAre("/"));
}

TEST(VmTest, LayoutComesFromBazelsVariables) {
  const BazelTestLayout l = LayoutFromEnv({
      {"TEST_TMPDIR", "/out/_tmp/abc"},
      {"TEST_UNDECLARED_OUTPUTS_DIR", "/out/testlogs/t/test.outputs"},
      {"XML_OUTPUT_FILE", "/out/testlogs/t/test.xml"},
      {"TEST_PREMATURE_EXIT_FILE", "/out/testlogs/t/test.exited_prematurely"},
      {"TEST_TIMEOUT", "900"},
  });
  EXPECT_THAT(l.rw_dirs, ElementsAre("/out/_tmp/abc", "/out/testlogs/t"));
  EXPECT_EQ(l.timeout.count(), 840);
  EXPECT_EQ(l.log_path, "/out/testlogs/t/test.outputs/l1-console.log");
}

TEST(VmTest, ShortTimeoutsKeepHalf) {
  EXPECT_EQ(LayoutFromEnv({{"TEST_TIMEOUT", "60"}}).timeout.count(), 30);
  EXPECT_EQ(LayoutFromEnv({}).timeout.count(), 0);
}

TEST(VmTest, ARerunNamesExactlyItsCases) {
  EXPECT_THAT(WithOnlyCases({"/t/multinode_test", "--gtest_filter=Cluster.*", "--gtest_filter",
                             "X.*", "--gtest_color=no"},
                            {{"Cluster", "Boots"}, {"Shapes/Cluster", "Runs/3nodes"}}),
              ElementsAre("/t/multinode_test", "--gtest_color=no",
                          "--gtest_filter=Cluster.Boots:Shapes/Cluster.Runs/3nodes"));
}

}  // namespace
}  // namespace ssivm::hwkvm

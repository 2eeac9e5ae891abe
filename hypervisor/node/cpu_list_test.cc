#include "hypervisor/node/cpu_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ErrorOf(std::string_view text) {
  try {
    ParseCpuList(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CpuList, ParsesSinglesRangesAndMixes) {
  EXPECT_THAT(ParseCpuList("1"), ElementsAre(1));
  EXPECT_THAT(ParseCpuList("0-3"), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(ParseCpuList("6,0-2"), ElementsAre(0, 1, 2, 6));
  EXPECT_THAT(ParseCpuList("2,1-2,2"), ElementsAre(1, 2));
  EXPECT_THAT(ParseCpuList("1023"), ElementsAre(1023));
}

TEST(CpuList, NamesWhatIsWrong) {
  EXPECT_THAT(ErrorOf(""), HasSubstr("empty"));
  EXPECT_THAT(ErrorOf("1,"), HasSubstr("'' is not a CPU number"));
  EXPECT_THAT(ErrorOf("a"), HasSubstr("'a' is not a CPU number"));
  EXPECT_THAT(ErrorOf("1-"), HasSubstr("'1-' is not a CPU number"));
  EXPECT_THAT(ErrorOf("-1"), HasSubstr("'-1' is not a CPU number"));
  EXPECT_THAT(ErrorOf("1 "), HasSubstr("'1 ' is not a CPU number"));
  EXPECT_THAT(ErrorOf("0-2-4"), HasSubstr("'0-2-4'"));
  EXPECT_THAT(ErrorOf("3-1"), HasSubstr("range '3-1' runs backwards"));
  EXPECT_THAT(ErrorOf("1024"), HasSubstr("CPU 1024 is out of range (0-1023)"));
  EXPECT_THAT(ErrorOf("99999999999"), HasSubstr("'99999999999' is not a CPU number"));
}

TEST(CpuList, FormatsTheShortestList) {
  EXPECT_EQ(FormatCpuList({1}), "1");
  EXPECT_EQ(FormatCpuList({0, 1, 2, 3, 6}), "0-3,6");
  EXPECT_EQ(FormatCpuList({0, 2, 4, 5}), "0,2,4-5");
  EXPECT_EQ(FormatCpuList(ParseCpuList("7,0-2,5")), "0-2,5,7");
}

}  // namespace
}  // namespace ssivm

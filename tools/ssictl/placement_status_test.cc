// Node 0's placement section as `ssictl status` shows it, and the field
// readers under it: any answer, however wrong, shows what can be read of it.
#include "tools/ssictl/placement_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/ssictl/answer_fields.h"

namespace ssivm {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Lines(const char* status) {
  return PlacementLines(nlohmann::json::parse(status));
}

TEST(PlacementLines, EveryVcpuWithWhereItRunsAndWhatMovedIt) {
  EXPECT_THAT(
      Lines(R"({"node":0,"placement":{"automatic":true,"vcpus":[)"
            R"({"vcpu":0,"node":0,"migrations":0},)"
            R"({"vcpu":1,"node":1,"migrations":3,"pinned":1,)"
            R"j("last_reason":"operator (ssictl migrate)","last_downtime_us":1234},)j"
            R"({"vcpu":2,"node":1,"migrations":1,"last_reason":"pulls pages from node 1",)"
            R"("last_downtime_us":87}]}})"),
      ElementsAre(
          "placement: automatic", "vCPU 0 on node 0, 0 migrations",
          "vCPU 1 on node 1, 3 migrations, pinned to node 1, last: operator (ssictl migrate), "
          "downtime 1.234 ms",
          "vCPU 2 on node 1, 1 migration, last: pulls pages from node 1, downtime 0.087 ms"));
  EXPECT_THAT(Lines(R"({"placement":{"automatic":false,"vcpus":[]}})"),
              ElementsAre("placement: off"));
}

TEST(PlacementLines, TheCostsAndWhatTheyRestOn) {
  EXPECT_THAT(
      Lines(R"({"placement":{"automatic":true,"costs":{"page_fault_us":96,)"
            R"("vcpu_move_us":1292,"faults":5123,"moves":3,"downtime_us":1100,)"
            R"("pull_backs":2,"pull_back_pages":2.0},"vcpus":[]}})"),
      ElementsAre("placement: automatic",
                  "placement costs: a remote fault 96 us (median of 5123 faults), a move "
                  "1.292 ms (median downtime 1.100 ms of 3 moves + 2.0 pages pulled back)"));
  EXPECT_THAT(
      Lines(R"({"placement":{"automatic":true,"costs":{"page_fault_us":50,)"
            R"("vcpu_move_us":5000,"faults":0,"moves":0},"vcpus":[]}})"),
      ElementsAre("placement: automatic",
                  "placement costs: a remote fault 50 us (prior), a move 5.000 ms (prior)"));
  EXPECT_THAT(Lines(R"({"placement":{"automatic":true,"costs":{"page_fault_us":"x",)"
                    R"("vcpu_move_us":5000},"vcpus":[]}})"),
              ElementsAre("placement: automatic"));
}

TEST(PlacementLines, NoneWithoutThePlacementSection) {
  EXPECT_THAT(Lines(R"({"node":1,"vcpus":[2,3]})"), IsEmpty());
  EXPECT_THAT(Lines(R"({"placement":null})"), IsEmpty());
  EXPECT_THAT(Lines(R"({"placement":[1]})"), IsEmpty());
  EXPECT_THAT(Lines("[1,2]"), IsEmpty());
  EXPECT_THAT(Lines("7"), IsEmpty());
}

// Fields that are missing or of the wrong type are left out; a vCPU entry
// without a vCPU index is skipped.
TEST(PlacementLines, WrongTypesAndMissingFieldsAreLeftOut) {
  EXPECT_THAT(
      Lines(R"({"placement":{"automatic":"yes","vcpus":[)"
            R"(7,"x",null,{"node":1},{"vcpu":-1,"node":0},)"
            R"({"vcpu":3,"node":"1","migrations":-2,"pinned":true,)"
            R"("last_reason":5,"last_downtime_us":1.5},)"
            R"({"vcpu":4,"last_downtime_us":2500000}]}})"),
      ElementsAre("placement: not reported", "vCPU 3", "vCPU 4, last downtime 2500.000 ms"));
  EXPECT_THAT(Lines(R"({"placement":{"vcpus":{"vcpu":1}}})"),
              ElementsAre("placement: not reported"));
}

TEST(AnswerFields, ReadOnlyTheRightType) {
  const nlohmann::json j =
      nlohmann::json::parse(R"({"n":5,"neg":-5,"real":1.5,"b":true,"s":"text","o":{"n":1}})");
  EXPECT_EQ(Unsigned(j, "n"), 5u);
  EXPECT_EQ(Unsigned(j, "neg"), std::nullopt);
  EXPECT_EQ(Unsigned(j, "real"), std::nullopt);
  EXPECT_EQ(Unsigned(j, "missing"), std::nullopt);
  EXPECT_EQ(Count(j, "s"), 0u);
  EXPECT_EQ(Flag(j, "b"), true);
  EXPECT_EQ(Flag(j, "n"), std::nullopt);
  EXPECT_EQ(Text(j, "s"), "text");
  EXPECT_EQ(Text(j, "b"), std::nullopt);
  EXPECT_EQ(Unsigned(Field(j, "o"), "n"), 1u);
  EXPECT_TRUE(Field(Field(j, "n"), "x").is_null());
  EXPECT_EQ(Unsigned(nlohmann::json::array({1}), "n"), std::nullopt);
}

TEST(AnswerFields, Millis) {
  EXPECT_EQ(Millis(1234), "1.234 ms");
  EXPECT_EQ(Millis(5600, 1), "5.6 ms");
  EXPECT_EQ(Millis(0), "0.000 ms");
}

}  // namespace
}  // namespace ssivm

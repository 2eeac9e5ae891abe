// ssictl migrate|pin|unpin: the requests node 0 gets, and what ssictl says
// of every kind of answer: success, refusal, malformed.
#include "tools/ssictl/vcpu_answer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"

namespace ssivm {
namespace {

using testing::ErrorOf;
using ::testing::HasSubstr;

constexpr VcpuRequest kMigrate{VcpuRequest::Kind::kMigrate, 1, 2};
constexpr VcpuRequest kPin{VcpuRequest::Kind::kPin, 3, 0};
constexpr VcpuRequest kUnpin{VcpuRequest::Kind::kUnpin, 4, 0};

std::string Describe(const VcpuRequest& r, const char* answer) {
  return DescribeAnswer(r, nlohmann::json::parse(answer));
}

TEST(VcpuRequest, AsNode0ReadsIt) {
  EXPECT_EQ(RequestJson(kMigrate).dump(), R"({"cmd":"migrate","to":2,"vcpu":1})");
  EXPECT_EQ(RequestJson(kPin).dump(), R"({"cmd":"pin","node":0,"vcpu":3})");
  EXPECT_EQ(RequestJson(kUnpin).dump(), R"({"cmd":"unpin","vcpu":4})");
}

TEST(VcpuAnswer, Migrated) {
  EXPECT_EQ(Describe(kMigrate,
                     R"({"ok":true,"vcpu":1,"from":0,"to":2,"downtime_us":1234,"total_us":5600})"),
            "vCPU 1 moved from node 0 to node 2: downtime 1.234 ms (request 5.6 ms)");
  EXPECT_EQ(Describe(kMigrate,
                     R"({"ok":true,"vcpu":1,"from":0,"to":2,"downtime_us":1234,"total_us":5600,)"
                     R"("phases_us":{"capture":120,"transfer":310,"restore":804}})"),
            "vCPU 1 moved from node 0 to node 2: downtime 1.234 ms (capture 0.120 ms, transfer "
            "0.310 ms, restore 0.804 ms) (request 5.6 ms)");
}

TEST(VcpuAnswer, Pinned) {
  EXPECT_EQ(Describe(kPin, R"({"ok":true,"vcpu":3,"node":0,"moved":true,"downtime_us":870})"),
            "vCPU 3 pinned to node 0: moved there, downtime 0.870 ms");
  EXPECT_EQ(Describe(kPin, R"({"ok":true,"vcpu":3,"node":0,"moved":true,"downtime_us":870,)"
                           R"("phases_us":{"capture":70,"transfer":"x"}})"),
            "vCPU 3 pinned to node 0: moved there, downtime 0.870 ms (capture 0.070 ms)");
  EXPECT_EQ(Describe(kPin, R"({"ok":true,"vcpu":3,"node":0,"moved":false})"),
            "vCPU 3 pinned to node 0 (already there)");
}

TEST(VcpuAnswer, Unpinned) {
  EXPECT_EQ(Describe(kUnpin, R"({"ok":true,"vcpu":4})"),
            "vCPU 4 unpinned: automatic placement may move it again");
}

// The node's refusal, in its own words (ssictl prints "ssictl: error: ...").
TEST(VcpuAnswer, AnErrorAnswerThrowsTheNodesWords) {
  for (const VcpuRequest& r : {kMigrate, kPin, kUnpin}) {
    EXPECT_EQ(ErrorOf([&] { Describe(r, R"j({"error":"vCPU 9 does not exist (vCPUs 0-3)"})j"); }),
              "vCPU 9 does not exist (vCPUs 0-3)");
  }
  // An error wins over an "ok" beside it.
  EXPECT_EQ(ErrorOf([&] { Describe(kMigrate, R"({"ok":true,"error":"the VM is stopping"})"); }),
            "the VM is stopping");
}

TEST(VcpuAnswer, AnAnswerThatSaysNeitherIsAnError) {
  for (const char* answer : {R"({})", R"({"ok":false})", R"({"ok":"true"})", R"({"error":5})",
                             R"({"status":"done"})", "[1]", "null", "7"}) {
    EXPECT_THAT(ErrorOf([&] { Describe(kMigrate, answer); }),
                HasSubstr("node 0 gave no clear answer to migrate (neither \"ok\": true nor an "
                          "\"error\" text): "))
        << answer;
  }
  const std::string long_answer = R"({"ok":false,"x":")" + std::string(500, 'a') + "\"}";
  const std::string said = ErrorOf([&] { Describe(kUnpin, long_answer.c_str()); });
  EXPECT_THAT(said, HasSubstr("to unpin"));
  EXPECT_THAT(said, HasSubstr("aaa..."));
  EXPECT_LT(said.size(), 300u);
}

// Fields that are missing or of the wrong type are left out; the request's
// vCPU and node stand in for the answer's.
TEST(VcpuAnswer, WhatAnOkAnswerLacksIsLeftOut) {
  EXPECT_EQ(Describe(kMigrate, R"({"ok":true})"), "vCPU 1 moved to node 2");
  EXPECT_EQ(
      Describe(kMigrate,
               R"({"ok":true,"vcpu":"1","from":-1,"to":null,"downtime_us":1.5,"total_us":900})"),
      "vCPU 1 moved to node 2 (request 0.9 ms)");
  EXPECT_EQ(Describe(kPin, R"({"ok":true,"moved":"yes","downtime_us":5})"),
            "vCPU 3 pinned to node 0");
  EXPECT_EQ(Describe(kPin, R"({"ok":true,"moved":true,"downtime_us":"5"})"),
            "vCPU 3 pinned to node 0: moved there");
  EXPECT_EQ(Describe(kUnpin, R"({"ok":true,"vcpu":[4]})"),
            "vCPU 4 unpinned: automatic placement may move it again");
}

}  // namespace
}  // namespace ssivm

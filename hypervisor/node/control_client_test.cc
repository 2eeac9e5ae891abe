// The control client against a socket with canned answers: the request as
// the node reads it, answers passed on as they are, the time limit.
#include "hypervisor/node/control_client.h"

#include <unistd.h>

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/support/control_stub.h"
#include "tests/support/error_of.h"

namespace ssivm {
namespace {

using std::chrono::milliseconds;
using testing::ControlStub;
using ::testing::ElementsAre;
using testing::ErrorOf;
using ::testing::HasSubstr;

std::string SocketPath(const std::string& name) {
  return "/tmp/ssivm-ctl-client-" + std::to_string(::getpid()) + "-" + name + ".sock";
}

TEST(RequestNode, SendsOneLineAndReturnsAnyObjectAnswerAsItIs) {
  const std::string path = SocketPath("raw");
  const ControlStub stub(path, {R"({"ok":true,"vcpu":1,"from":0,"to":1})",
                                R"({"error":"vCPU 1 is already on node 1"})"});
  const nlohmann::json request = {{"cmd", "migrate"}, {"vcpu", 1}, {"to", 1}};
  EXPECT_EQ(RequestNode(path, request, milliseconds(5000)),
            nlohmann::json::parse(R"({"ok":true,"vcpu":1,"from":0,"to":1})"));
  EXPECT_EQ(RequestNode(path, request), nlohmann::json({{"error", "vCPU 1 is already on node 1"}}));
  EXPECT_THAT(stub.Requests(), ElementsAre(R"({"cmd":"migrate","to":1,"vcpu":1})",
                                           R"({"cmd":"migrate","to":1,"vcpu":1})"));
}

TEST(RequestNode, ANodeThatDoesNotAnswerInTimeIsAnError) {
  const std::string path = SocketPath("slow");
  const ControlStub stub(path, {R"({"ok":true})"}, milliseconds(5000));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ErrorOf([&] {
              RequestNode(path, {{"cmd", "status"}}, milliseconds(200));
            }),
            path + " gave no answer within 0.2 s");
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
}

TEST(RequestNode, NoNodeThereIsNotAnError) {
  EXPECT_EQ(RequestNode(SocketPath("none"), {{"cmd", "status"}}, milliseconds(100)), std::nullopt);
}

TEST(RequestNode, AnAnswerThatIsNotAJsonObjectIsAnError) {
  const std::string path = SocketPath("bad");
  const ControlStub stub(path, {"garbage", "[1,2]"});
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(ErrorOf([&] {
                RequestNode(path, {{"cmd", "status"}});
              }),
              path + " answered something that is not a JSON object");
  }
}

TEST(AskNode, AnErrorAnswerThrowsNamingTheSocket) {
  const std::string path = SocketPath("error");
  const ControlStub stub(path, {R"({"error":"no such vCPU"})"});
  EXPECT_EQ(ErrorOf([&] {
              AskNode(path, {{"cmd", "unpin"}, {"vcpu", 9}});
            }),
            path + ": no such vCPU");
}

TEST(AnswerError, OnlyAStringErrorIsOne) {
  EXPECT_EQ(AnswerError({{"error", "busy"}}), "busy");
  EXPECT_EQ(AnswerError({{"error", 5}}), std::nullopt);
  EXPECT_EQ(AnswerError({{"ok", true}}), std::nullopt);
  EXPECT_EQ(AnswerError(nlohmann::json::array({"error"})), std::nullopt);
  EXPECT_EQ(AnswerError(nlohmann::json("error")), std::nullopt);
}

}  // namespace
}  // namespace ssivm

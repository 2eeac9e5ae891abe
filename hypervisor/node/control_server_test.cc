#include "hypervisor/node/control_server.h"
#include "hypervisor/node/control_client.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/temp_dir.h"
#include "tests/support/as_user.h"

namespace ssivm {
namespace {

using testing::AskAs;
using ::testing::HasSubstr;
using testing::kNobody;

ControlHandlers Handlers(int* stops) {
  ControlHandlers h;
  h.status = [] { return nlohmann::json{{"node", 3}}; };
  h.stop = [stops] { ++*stops; };
  return h;
}

TEST(ControlRequest, StatusAndStop) {
  int stops = 0;
  EXPECT_EQ(HandleControlRequest(R"({"cmd":"status"})", Handlers(&stops)), R"({"node":3})");
  EXPECT_EQ(HandleControlRequest(R"({"cmd":"stop"})", Handlers(&stops)), R"({"ok":true})");
  EXPECT_EQ(stops, 1);
}

// Commands beyond status and stop (migrate, pin, unpin on the coordinator):
// their answer, or the Error they throw as {"error": ...}; an unknown one
// lists them all.
TEST(ControlRequest, MoreCommandsAnswerOrNameTheirError) {
  int stops = 0;
  ControlHandlers h = Handlers(&stops);
  h.commands["echo"] = [](const nlohmann::json& r) { return nlohmann::json{{"got", r["x"]}}; };
  h.commands["refuse"] = [](const nlohmann::json&) -> nlohmann::json {
    throw Error("there is no vCPU 9");
  };
  EXPECT_EQ(HandleControlRequest(R"({"cmd":"echo","x":4})", h), R"({"got":4})");
  EXPECT_EQ(HandleControlRequest(R"({"cmd":"refuse"})", h), R"({"error":"there is no vCPU 9"})");
  EXPECT_THAT(HandleControlRequest(R"({"cmd":"reboot"})", h),
              HasSubstr("unknown command 'reboot' (status, stop, echo, refuse)"));
}

TEST(ControlRequest, BadRequestsGetErrorsNotCrashes) {
  int stops = 0;
  const ControlHandlers h = Handlers(&stops);
  EXPECT_THAT(HandleControlRequest("not json", h), HasSubstr("not JSON"));
  EXPECT_THAT(HandleControlRequest("[1,2]", h), HasSubstr("\\\"cmd\\\""));
  EXPECT_THAT(HandleControlRequest(R"({"cmd":5})", h), HasSubstr("cmd"));
  EXPECT_THAT(HandleControlRequest(R"({"cmd":"reboot"})", h),
              HasSubstr("unknown command 'reboot'"));
  EXPECT_THAT(HandleControlRequest("", h), HasSubstr("not JSON"));
  EXPECT_EQ(stops, 0);
}

std::string Ask(const std::string& path, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return "connect failed";
  (void)!::write(fd, request.data(), request.size());
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(ControlServer, AnswersOverItsSocketAndRemovesIt) {
  const std::string path = "/tmp/ssivm-ctl-test-" + std::to_string(::getpid()) + ".sock";
  int stops = 0;
  {
    ControlServer server(path, Handlers(&stops));
    EXPECT_EQ(Ask(path, "{\"cmd\":\"status\"}\n"), "{\"node\":3}\n");
    EXPECT_THAT(Ask(path, "garbage\n"), HasSubstr("error"));
    EXPECT_THAT(Ask(path, std::string(5000, 'x')), HasSubstr("longer than 4096"));
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

// An extra command that takes long (a vCPU move waits until it is done) runs
// on a thread of its own: status is answered meanwhile, up to kMaxRunning of
// them run side by side, and one more is told the node is busy.
TEST(ControlServer, ALongCommandDoesNotHoldUpTheOthers) {
  const std::string path = "/tmp/ssivm-ctl-long-" + std::to_string(::getpid()) + ".sock";
  auto release = std::make_shared<std::promise<void>>();
  const std::shared_future<void> released = release->get_future().share();
  std::mutex mu;
  std::condition_variable cv;
  size_t started = 0;
  int stops = 0;
  ControlHandlers h = Handlers(&stops);
  h.commands["wait"] = [&, released](const nlohmann::json&) {
    {
      std::lock_guard lock(mu);
      ++started;
    }
    cv.notify_all();
    released.wait();
    return nlohmann::json{{"ok", true}};
  };
  ControlServer server(path, h);
  // Released before the server goes, however the test ends (it joins them).
  const std::unique_ptr<void, std::function<void(void*)>> release_at_end(
      release.get(), [release](void*) {
        try {
          release->set_value();
        } catch (const std::future_error&) {  // released already
        }
      });
  std::vector<std::future<std::string>> waiting;
  for (size_t i = 0; i < ControlServer::kMaxRunning; ++i) {
    waiting.push_back(
        std::async(std::launch::async, [&] { return Ask(path, "{\"cmd\":\"wait\"}\n"); }));
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60),
                            [&] { return started == ControlServer::kMaxRunning; }));
  }
  EXPECT_EQ(Ask(path, "{\"cmd\":\"status\"}\n"), "{\"node\":3}\n");
  EXPECT_THAT(Ask(path, "{\"cmd\":\"wait\"}\n"), HasSubstr("busy: 4 requests are running here"));
  release->set_value();
  for (auto& w : waiting) EXPECT_EQ(w.get(), "{\"ok\":true}\n");
  // The finished ones make room again.
  EXPECT_EQ(Ask(path, "{\"cmd\":\"wait\"}\n"), "{\"ok\":true}\n");
}

TEST(ControlClient, AsksARunningNodeAndTellsWhenNoneRuns) {
  const std::string path = "/tmp/ssivm-ctl-client-" + std::to_string(::getpid()) + ".sock";
  int stops = 0;
  {
    ControlServer server(path, Handlers(&stops));
    EXPECT_EQ(AskNode(path, {{"cmd", "status"}}), nlohmann::json({{"node", 3}}));
    EXPECT_EQ(AskNodeIfRunning(path, {{"cmd", "stop"}}), nlohmann::json({{"ok", true}}));
    EXPECT_EQ(stops, 1);
    try {
      AskNode(path, {{"cmd", "reboot"}});
      ADD_FAILURE() << "an error answer did not throw";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("unknown command 'reboot'"));
      EXPECT_THAT(e.what(), HasSubstr(path));
    }
  }
  EXPECT_EQ(AskNodeIfRunning(path, {{"cmd", "status"}}), std::nullopt);
  EXPECT_THROW(AskNode(path, {{"cmd", "status"}}), Error);
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(ControlServer, ASecondServerLeavesALiveSocketAloneAndReplacesAStaleOne) {
  const TempDir dir("ctl-test");
  const std::string path = dir.path() + "/ctl.sock";
  int stops = 0;
  {
    const ControlServer first(path, Handlers(&stops));
    try {
      const ControlServer second(path, Handlers(&stops));
      ADD_FAILURE() << "a second server took over a live control socket";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("control socket " + path + " is in use"));
    }
    EXPECT_EQ(Ask(path, "{\"cmd\":\"status\"}\n"), "{\"node\":3}\n");
  }
  // A socket whose server died without removing it.
  const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(stale);
  const ControlServer again(path, Handlers(&stops));
  EXPECT_EQ(Ask(path, "{\"cmd\":\"status\"}\n"), "{\"node\":3}\n");
}

// Another local user can neither stop nor ask a node: the socket is
// owner-only, and even where its mode does not hold, the peer's credentials
// are checked.
TEST(ControlServer, AnotherUserCannotStopTheNode) {
  if (::geteuid() != 0) GTEST_SKIP() << "acting as another user needs root";
  const TempDir dir("ctl-test");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // others may reach the socket
  const std::string path = dir.path() + "/ctl.sock";
  int stops = 0;
  const ControlServer server(path, Handlers(&stops));
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(AskAs(kNobody, path, "{\"cmd\":\"stop\"}\n"), HasSubstr("Permission denied"));
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);  // as if the mode were lost
  const std::string refused = AskAs(kNobody, path, "{\"cmd\":\"stop\"}\n");
  EXPECT_THAT(refused, HasSubstr("permission denied: uid 65534 may not use this socket"));
  EXPECT_EQ(stops, 0);
  EXPECT_EQ(Ask(path, "{\"cmd\":\"stop\"}\n"), "{\"ok\":true}\n");  // root is heard
  EXPECT_EQ(stops, 1);
}

// A node's answer is one JSON object; ssictl reads its fields (found by
// //tools/ssictl:status_answer_fuzz: a bare number made `ssictl status` die).
TEST(ControlAnswer, OnlyAJsonObjectIsAnAnswer) {
  EXPECT_EQ(ParseControlAnswer(R"({"node":1})", "n.sock"), nlohmann::json({{"node", 1}}));
  for (const char* bad : {"", "garbage", "0", "[1,2]", "\"text\"", "null"}) {
    try {
      ParseControlAnswer(bad, "n.sock");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("n.sock answered something that is not a JSON object"));
    }
  }
  EXPECT_THROW(ParseControlAnswer(R"({"error":"busy"})", "n.sock"), Error);
}

}  // namespace
}  // namespace ssivm

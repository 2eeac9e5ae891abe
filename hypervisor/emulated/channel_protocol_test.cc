#include "hypervisor/emulated/channel_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "common/error.h"

namespace ssivm::emulated {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

TEST(ChannelProtocol, FramesSurviveAnySplit) {
  std::vector<uint8_t> stream;
  const auto a = EncodeFrame(MsgType::kStdout, 0, Bytes("hello"));
  const auto b = EncodeJsonFrame(MsgType::kExit, 0, nlohmann::json{{"status", 3}});
  const auto c = EncodeFrame(MsgType::kData, 7, std::span<const uint8_t>{});
  for (const auto* f : {&a, &b, &c}) stream.insert(stream.end(), f->begin(), f->end());
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    FrameDecoder d;
    std::vector<Frame> got;
    for (size_t i = 0; i < stream.size(); i += piece) {
      d.Feed(std::span(stream).subspan(i, std::min(piece, stream.size() - i)));
      while (auto f = d.Next()) got.push_back(*f);
    }
    ASSERT_EQ(got.size(), 3u) << "piece " << piece;
    EXPECT_EQ(got[0].type, MsgType::kStdout);
    EXPECT_EQ(got[0].text(), "hello");
    EXPECT_EQ(got[1].type, MsgType::kExit);
    EXPECT_EQ(got[1].Json()["status"], 3);
    EXPECT_EQ(got[2].type, MsgType::kData);
    EXPECT_EQ(got[2].stream, 7u);
    EXPECT_TRUE(got[2].payload.empty());
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(ChannelProtocol, RejectsUnknownTypesReservedBitsAndHugeLengths) {
  std::vector<uint8_t> f = EncodeFrame(MsgType::kStdout, 0, Bytes("x"));
  std::vector<uint8_t> bad = f;
  bad[0] = 99;
  FrameDecoder d1;
  d1.Feed(bad);
  EXPECT_THROW(d1.Next(), Error);
  bad = f;
  bad[2] = 1;
  FrameDecoder d2;
  d2.Feed(bad);
  EXPECT_THROW(d2.Next(), Error);
  bad = f;
  bad[11] = 0x10;  // 256 MiB
  FrameDecoder d3;
  d3.Feed(bad);
  try {
    d3.Next();
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("claims 268435457 bytes"));
  }
  EXPECT_THROW(EncodeFrame(MsgType::kData, 0, std::vector<uint8_t>(kMaxPayload + 1)), Error);
}

TEST(ChannelProtocol, RandomBytesNeverCrashTheDecoder) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> junk(rng() % 64);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (!junk.empty() && round % 2 == 0) junk[0] = static_cast<uint8_t>(1 + rng() % 33);
    FrameDecoder d;
    d.Feed(junk);
    try {
      while (auto f = d.Next()) {
        try {
          (void)f->Json();
        } catch (const Error&) {
        }
      }
    } catch (const Error&) {
    }
  }
}

TEST(ChannelProtocol, ExecRequestRoundTrips) {
  ExecRequest r;
  r.argv = {"/bin/ssictl", "up", "--nodes", "2"};
  r.env = {"PATH=/bin", "SSIVM_KVM=host"};
  r.cwd = "/work/main";
  r.tty = true;
  r.rows = 50;
  r.cols = 132;
  r.linger = true;
  const ExecRequest back = ExecRequestFromJson(ToJson(r));
  EXPECT_EQ(back.argv, r.argv);
  EXPECT_EQ(back.env, r.env);
  EXPECT_EQ(back.cwd, r.cwd);
  EXPECT_TRUE(back.tty);
  EXPECT_EQ(back.rows, 50);
  EXPECT_EQ(back.cols, 132);
  EXPECT_TRUE(back.linger);
}

TEST(ChannelProtocol, BadExecRequestsNameTheField) {
  nlohmann::json j = ToJson(ExecRequest{{"/bin/true"}, {}, "/", false, 0, 0, false});
  const auto expect = [](const nlohmann::json& bad, const std::string& what) {
    try {
      ExecRequestFromJson(bad);
      FAIL() << what;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  };
  nlohmann::json bad = j;
  bad["argv"] = nlohmann::json::array();
  expect(bad, "'argv' is empty");
  bad = j;
  bad["env"] = {"NOEQUALS"};
  expect(bad, "'NOEQUALS' is not NAME=value");
  bad = j;
  bad["cwd"] = "relative";
  expect(bad, "'cwd' = 'relative' is not an absolute path");
  bad = j;
  bad["rows"] = 70000;
  expect(bad, "'rows' = 70000 is out of range");
  bad = j;
  bad.erase("tty");
  expect(bad, "'tty' is missing");
  Frame f;
  f.type = MsgType::kExec;
  f.payload = Bytes("[1,2]");
  EXPECT_THROW(f.Json(), Error);
}

}  // namespace
}  // namespace ssivm::emulated

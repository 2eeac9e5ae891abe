#include "cluster/transport/handshake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"

#include "common/error.h"

namespace ssivm::cluster {
namespace {

using ::testing::HasSubstr;

ClusterSecret SecretOf(uint8_t b) {
  ClusterSecret s{};
  s.fill(b);
  return s;
}

HandshakeConfig Config(NodeId self, uint8_t secret = 7) {
  return {0xc1, 3, self, TransportSecurity::kEncrypted, SecretOf(secret)};
}

struct Parsed {
  FrameHeader header;
  std::vector<uint8_t> payload;
};

Parsed Parse(const std::vector<uint8_t>& frame) {
  const FrameHeader h =
      DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
  EXPECT_EQ(frame.size(), kFrameHeaderSize + h.payload);
  return {h, {frame.begin() + kFrameHeaderSize, frame.end()}};
}

// The dialer's Hello read by the acceptor; returns the acceptor's Reply.
Parsed ReplyTo(DialerHandshake& d, AcceptorHandshake& a) {
  const Parsed hello = Parse(d.Hello());
  a.OnHello(hello.header, hello.payload);
  return Parse(a.Reply());
}

using testing::ErrorOf;

TEST(Handshake, BothSidesDeriveTheSameKeysAndTheyDifferPerDirection) {
  DialerHandshake d(Config(1));
  AcceptorHandshake a(Config(0));
  const Parsed reply = ReplyTo(d, a);
  EXPECT_EQ(a.peer(), 1u);
  EXPECT_EQ(a.mismatch(), "");
  const Parsed finish = Parse(d.OnReply(reply.header, reply.payload, 0));
  a.OnFinish(finish.header, finish.payload);
  EXPECT_EQ(d.keys().send, a.keys().receive);
  EXPECT_EQ(d.keys().receive, a.keys().send);
  EXPECT_NE(d.keys().send, d.keys().receive);
  EXPECT_NE(d.keys().send, Config(0).secret);
}

TEST(Handshake, EveryConnectionGetsFreshKeys) {
  SessionKeys first;
  for (int round = 0; round < 2; ++round) {
    DialerHandshake d(Config(1));
    AcceptorHandshake a(Config(0));
    const Parsed reply = ReplyTo(d, a);
    d.OnReply(reply.header, reply.payload, 0);
    if (round == 0)
      first = d.keys();
    else
      EXPECT_NE(first.send, d.keys().send);
  }
}

TEST(Handshake, AnAcceptorWithAnotherSecretIsNamedByTheDialer) {
  DialerHandshake d(Config(1, 7));
  AcceptorHandshake a(Config(0, 8));
  const Parsed reply = ReplyTo(d, a);
  EXPECT_THAT(ErrorOf([&] { d.OnReply(reply.header, reply.payload, 0); }),
              HasSubstr("secrets differ"));
}

TEST(Handshake, ADialerWithoutTheSecretFailsAtItsFinish) {
  // A forger that knows everything public but the secret: it can build a
  // Hello, never a Finish.
  DialerHandshake honest(Config(1));
  AcceptorHandshake a(Config(0));
  const Parsed hello = Parse(honest.Hello());
  a.OnHello(hello.header, hello.payload);
  std::vector<uint8_t> finish = {static_cast<uint8_t>(HandshakeKind::kFinish)};
  finish.resize(1 + kMacBytes, 0x55);
  const FrameHeader fh{Channel::kHandshake, false, static_cast<uint32_t>(finish.size()), 1};
  EXPECT_THAT(ErrorOf([&] { a.OnFinish(fh, finish); }), HasSubstr("failed authentication"));
}

TEST(Handshake, AReplayedHandshakeFailsAgainstAFreshNonce) {
  // Record a whole good handshake ...
  DialerHandshake d(Config(1));
  AcceptorHandshake first(Config(0));
  const Parsed hello = Parse(d.Hello());
  first.OnHello(hello.header, hello.payload);
  const Parsed reply = Parse(first.Reply());
  const Parsed finish = Parse(d.OnReply(reply.header, reply.payload, 0));
  first.OnFinish(finish.header, finish.payload);
  // ... and play the dialer's side of it to the same node again.
  AcceptorHandshake second(Config(0));
  second.OnHello(hello.header, hello.payload);
  EXPECT_EQ(second.mismatch(), "");
  EXPECT_THAT(ErrorOf([&] { second.OnFinish(finish.header, finish.payload); }),
              HasSubstr("replayed"));
}

TEST(Handshake, MismatchesAreNamedAndGetNoSignature) {
  HandshakeConfig other = Config(1);
  other.epoch = 4;
  DialerHandshake d(other);
  AcceptorHandshake a(Config(0));
  const Parsed reply = ReplyTo(d, a);
  EXPECT_THAT(a.mismatch(), HasSubstr("has manifest epoch 4, this node 3"));
  EXPECT_THAT(ErrorOf([&] { d.OnReply(reply.header, reply.payload, 0); }),
              HasSubstr("has manifest epoch 3, this node 4"));

  EXPECT_THAT(Mismatch({0xc1, kProtocolVersion, 1, 3, TransportSecurity::kNone, {}}, Config(0)),
              HasSubstr("runs its transport none, this node encrypted"));
  EXPECT_THAT(
      Mismatch({0xc2, kProtocolVersion, 1, 3, TransportSecurity::kEncrypted, {}}, Config(0)),
      HasSubstr("belongs to cluster 0xc2"));
}

TEST(Handshake, TheAcceptorMustBeTheNodeDialled) {
  DialerHandshake d(Config(1));
  AcceptorHandshake a(Config(2));
  const Parsed reply = ReplyTo(d, a);
  EXPECT_THAT(ErrorOf([&] { d.OnReply(reply.header, reply.payload, 0); }),
              HasSubstr("it says it is node 2"));
}

TEST(Handshake, MalformedHellosAreRejectedByName) {
  DialerHandshake d(Config(1));
  const Parsed hello = Parse(d.Hello());
  AcceptorHandshake a(Config(0));
  auto shorter = hello.payload;
  shorter.pop_back();
  EXPECT_THAT(ErrorOf([&] { a.OnHello(hello.header, shorter); }), HasSubstr("where a Hello has"));
  auto kind = hello.payload;
  kind[0] = static_cast<uint8_t>(HandshakeKind::kFinish);
  EXPECT_THAT(ErrorOf([&] { a.OnHello(hello.header, kind); }), HasSubstr("where its Hello"));
  FrameHeader liar = hello.header;
  liar.sender = 9;
  EXPECT_THAT(ErrorOf([&] { a.OnHello(liar, hello.payload); }), HasSubstr("sends as node 9"));
  auto security = hello.payload;
  security[25] = 9;
  EXPECT_THAT(ErrorOf([&] { a.OnHello(hello.header, security); }),
              HasSubstr("unknown transport security 9"));
}

TEST(Handshake, SignalsAreGoodbyeAndHeartbeatOnly) {
  const Parsed bye = Parse(EncodeSignal(HandshakeKind::kGoodbye, 4));
  EXPECT_EQ(bye.header.sender, 4u);
  EXPECT_EQ(DecodeSignal(bye.payload), HandshakeKind::kGoodbye);
  EXPECT_EQ(DecodeSignal(Parse(EncodeSignal(HandshakeKind::kHeartbeat, 4)).payload),
            HandshakeKind::kHeartbeat);
  EXPECT_THROW(DecodeSignal(std::vector<uint8_t>{}), Error);
  EXPECT_THROW(DecodeSignal(std::vector<uint8_t>{static_cast<uint8_t>(HandshakeKind::kHello)}),
               Error);
}

}  // namespace
}  // namespace ssivm::cluster

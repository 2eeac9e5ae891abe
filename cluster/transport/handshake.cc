#include "cluster/transport/handshake.h"

#include <sodium.h>

#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "common/error.h"
#include "common/wire.h"

namespace ssivm::cluster {
namespace {

void InitSodium() {
  static const int ok = sodium_init();
  if (ok < 0) throw Error("libsodium failed to initialise");
}

std::array<uint8_t, kNonceBytes> FreshNonce() {
  InitSodium();
  std::array<uint8_t, kNonceBytes> n{};
  randombytes_buf(n.data(), n.size());
  return n;
}

std::vector<uint8_t> Frame(NodeId sender, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  EncodeFrameHeader({Channel::kHandshake, false, static_cast<uint32_t>(payload.size()), sender},
                    out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Hello and Reply share their fields; a Reply appends its MAC.
std::vector<uint8_t> EncodeFields(HandshakeKind kind, const HelloFields& f) {
  std::vector<uint8_t> out;
  wire::Writer w(out);
  w.Put(static_cast<uint8_t>(kind));
  w.Put(f.cluster_id);
  w.Put(f.protocol_version);
  w.Put(f.node_id);
  w.Put(f.epoch);
  w.Put(static_cast<uint8_t>(f.security));
  out.insert(out.end(), f.nonce.begin(), f.nonce.end());
  return out;
}

constexpr size_t kFieldsBytes = 1 + 8 + 4 + 4 + 8 + 1 + kNonceBytes;

HelloFields DecodeFields(HandshakeKind kind, const FrameHeader& header,
                         std::span<const uint8_t> payload, size_t trailing) {
  const char* name = kind == HandshakeKind::kHello ? "Hello" : "Reply";
  if (header.channel != Channel::kHandshake || header.has_page) {
    throw Error(
        fmt::format("sent a {} frame instead of its {}", ChannelName(header.channel), name));
  }
  if (payload.size() != kFieldsBytes + trailing) {
    throw Error(fmt::format("sent a {}-byte handshake message where a {} has {}", payload.size(),
                            name, kFieldsBytes + trailing));
  }
  wire::Reader r(payload);
  if (r.Get<uint8_t>() != static_cast<uint8_t>(kind)) {
    throw Error(fmt::format("sent another handshake message where its {} belongs", name));
  }
  HelloFields f;
  f.cluster_id = r.Get<uint64_t>();
  f.protocol_version = r.Get<uint32_t>();
  f.node_id = r.Get<uint32_t>();
  f.epoch = r.Get<uint64_t>();
  const auto security = r.Get<uint8_t>();
  if (security > static_cast<uint8_t>(TransportSecurity::kEncrypted)) {
    throw Error(fmt::format("names an unknown transport security {}", security));
  }
  f.security = static_cast<TransportSecurity>(security);
  std::memcpy(f.nonce.data(), payload.data() + kFieldsBytes - kNonceBytes, kNonceBytes);
  if (header.sender != f.node_id) {
    throw Error(
        fmt::format("sends as node {} but its {} says node {}", header.sender, name, f.node_id));
  }
  return f;
}

// Keyed BLAKE2b of `label`, then each part.
template <size_t N>
std::array<uint8_t, N> KeyedHash(const ClusterSecret& key, std::string_view label,
                                 std::initializer_list<std::span<const uint8_t>> parts) {
  InitSodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), N);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  for (const auto& p : parts) crypto_generichash_update(&st, p.data(), p.size());
  std::array<uint8_t, N> out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

using Mac = std::array<uint8_t, kMacBytes>;

Mac ReplyMac(const ClusterSecret& k, std::span<const uint8_t> hello,
             std::span<const uint8_t> reply) {
  return KeyedHash<kMacBytes>(k, "ssivm reply", {hello, reply});
}

Mac FinishMac(const ClusterSecret& k, std::span<const uint8_t> hello,
              std::span<const uint8_t> reply) {
  return KeyedHash<kMacBytes>(k, "ssivm finish", {hello, reply});
}

// [dialer -> acceptor key, acceptor -> dialer key].
std::array<uint8_t, 2 * kSecretBytes> DeriveKeys(const ClusterSecret& k,
                                                 std::span<const uint8_t> hello,
                                                 std::span<const uint8_t> reply) {
  return KeyedHash<2 * kSecretBytes>(k, "ssivm frame keys", {hello, reply});
}

bool SameMac(const Mac& a, std::span<const uint8_t> b) {
  return b.size() == a.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

HelloFields Mine(const HandshakeConfig& c) {
  return {c.cluster_id, kProtocolVersion, c.self, c.epoch, c.security, FreshNonce()};
}

}  // namespace

std::vector<uint8_t> EncodeSignal(HandshakeKind kind, NodeId sender) {
  return Frame(sender, {static_cast<uint8_t>(kind)});
}

HandshakeKind DecodeSignal(std::span<const uint8_t> payload) {
  if (payload.size() == 1) {
    const auto kind = static_cast<HandshakeKind>(payload[0]);
    if (kind == HandshakeKind::kGoodbye || kind == HandshakeKind::kHeartbeat) return kind;
  }
  throw Error(fmt::format("sent a {}-byte handshake message after its handshake", payload.size()));
}

std::string Mismatch(const HelloFields& theirs, const HandshakeConfig& mine) {
  if (theirs.protocol_version != kProtocolVersion) {
    return fmt::format("speaks protocol {}, this node {}", theirs.protocol_version,
                       kProtocolVersion);
  }
  if (theirs.cluster_id != mine.cluster_id) {
    return fmt::format("belongs to cluster {:#x}, this node to cluster {:#x}", theirs.cluster_id,
                       mine.cluster_id);
  }
  if (theirs.epoch != mine.epoch) {
    return fmt::format("has manifest epoch {}, this node {}", theirs.epoch, mine.epoch);
  }
  if (theirs.security != mine.security) {
    return fmt::format("runs its transport {}, this node {}", SecurityName(theirs.security),
                       SecurityName(mine.security));
  }
  return "";
}

DialerHandshake::DialerHandshake(const HandshakeConfig& config)
    : config_(config), hello_(EncodeFields(HandshakeKind::kHello, Mine(config))) {}

std::vector<uint8_t> DialerHandshake::Hello() const {
  return Frame(config_.self, hello_);
}

std::vector<uint8_t> DialerHandshake::OnReply(const FrameHeader& header,
                                              std::span<const uint8_t> payload, NodeId expected) {
  const HelloFields theirs = DecodeFields(HandshakeKind::kReply, header, payload, kMacBytes);
  if (const std::string m = Mismatch(theirs, config_); !m.empty()) {
    HelloFields at_my_epoch = theirs;
    at_my_epoch.epoch = config_.epoch;
    retry_ = Mismatch(at_my_epoch, config_).empty();
    throw Error(m);
  }
  if (theirs.node_id != expected) throw Error(fmt::format("it says it is node {}", theirs.node_id));
  const auto fields = payload.first(kFieldsBytes);
  if (!SameMac(ReplyMac(config_.secret, hello_, fields), payload.subspan(kFieldsBytes))) {
    throw Error("its answer is not signed with this cluster's secret (the secrets differ)");
  }
  const auto k = DeriveKeys(config_.secret, hello_, fields);
  std::memcpy(keys_.send.data(), k.data(), kSecretBytes);
  std::memcpy(keys_.receive.data(), k.data() + kSecretBytes, kSecretBytes);
  std::vector<uint8_t> finish{static_cast<uint8_t>(HandshakeKind::kFinish)};
  const Mac mac = FinishMac(config_.secret, hello_, fields);
  finish.insert(finish.end(), mac.begin(), mac.end());
  return Frame(config_.self, finish);
}

AcceptorHandshake::AcceptorHandshake(const HandshakeConfig& config)
    : config_(config), reply_(EncodeFields(HandshakeKind::kReply, Mine(config))) {}

void AcceptorHandshake::OnHello(const FrameHeader& header, std::span<const uint8_t> payload) {
  theirs_ = DecodeFields(HandshakeKind::kHello, header, payload, 0);
  hello_.assign(payload.begin(), payload.end());
  mismatch_ = Mismatch(theirs_, config_);
}

std::vector<uint8_t> AcceptorHandshake::Reply() const {
  std::vector<uint8_t> reply = reply_;
  // A mismatched dialer gets the fields only (it names the mismatch).
  const Mac mac = mismatch_.empty() ? ReplyMac(config_.secret, hello_, reply_) : Mac{};
  reply.insert(reply.end(), mac.begin(), mac.end());
  return Frame(config_.self, reply);
}

void AcceptorHandshake::OnFinish(const FrameHeader& header, std::span<const uint8_t> payload) {
  if (header.channel != Channel::kHandshake || header.has_page || header.sender != peer()) {
    throw Error("sent something else where its Finish belongs");
  }
  if (payload.size() != 1 + kMacBytes ||
      payload[0] != static_cast<uint8_t>(HandshakeKind::kFinish)) {
    throw Error("sent something else where its Finish belongs");
  }
  if (!SameMac(FinishMac(config_.secret, hello_, reply_), payload.subspan(1))) {
    throw Error(
        "failed authentication: its Finish is not signed with this cluster's secret "
        "for this handshake (a wrong secret, or a replayed handshake)");
  }
  const auto k = DeriveKeys(config_.secret, hello_, reply_);
  std::memcpy(keys_.receive.data(), k.data(), kSecretBytes);
  std::memcpy(keys_.send.data(), k.data() + kSecretBytes, kSecretBytes);
}

}  // namespace ssivm::cluster

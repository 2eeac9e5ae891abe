#include "cluster/transport/frame_seal.h"

#include <sodium.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::cluster {
namespace {

using Nonce = std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES>;

// ChaCha20-Poly1305 (IETF) over `n` bytes from `in` to `out` (may be the
// same), authenticating `ad` with them. n = 0: a tag of `ad` alone.
Tag Seal(const uint8_t* in, uint8_t* out, size_t n, std::span<const uint8_t> ad, const Nonce& nonce,
         const ClusterSecret& key) {
  uint8_t none = 0;  // libsodium wants pointers even for empty messages
  Tag tag{};
  unsigned long long tag_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(n ? out : &none, tag.data(), &tag_len,
                                                     n ? in : &none, n, ad.data(), ad.size(),
                                                     nullptr, nonce.data(), key.data());
  return tag;
}

// The reverse of Seal, in place; false if the tag does not match.
bool Open(uint8_t* bytes, size_t n, std::span<const uint8_t> ad, std::span<const uint8_t> tag,
          const Nonce& nonce, const ClusterSecret& key) {
  uint8_t none = 0;
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
             n ? bytes : &none, nullptr, n ? bytes : &none, n, tag.data(), ad.data(), ad.size(),
             nonce.data(), key.data()) == 0;
}

}  // namespace

FrameSeal::FrameSeal(TransportSecurity security, const ClusterSecret& key)
    : security_(security), key_(key) {
  if (sodium_init() < 0) throw Error("libsodium failed to initialise");
}

std::array<uint8_t, 12> FrameSeal::NextNonce() {
  Nonce n{};
  const uint64_t c = count_++;
  std::memcpy(n.data() + 4, &c, sizeof(c));
  return n;
}

void FrameSeal::SealHead(std::vector<uint8_t>& head) {
  if (security_ == TransportSecurity::kNone) return;
  const std::span<uint8_t> all(head);
  uint8_t* payload = head.data() + kFrameHeaderSize;
  const Tag tag = security_ == TransportSecurity::kEncrypted
                      ? Seal(payload, payload, head.size() - kFrameHeaderSize,
                             all.first(kFrameHeaderSize), NextNonce(), key_)
                      : Seal(nullptr, nullptr, 0, all, NextNonce(), key_);
  head.insert(head.end(), tag.begin(), tag.end());
}

Tag FrameSeal::SealPage(const PageBuffer& page, PageBuffer& out, PagePool& pool) {
  if (security_ == TransportSecurity::kNone) {
    out = page;
    return {};
  }
  if (security_ == TransportSecurity::kAuthenticated) {
    out = page;
    return Seal(nullptr, nullptr, 0, {page.data(), abi::kPageSize}, NextNonce(), key_);
  }
  out = pool.Allocate();
  const Tag tag = Seal(page.data(), out.mutable_data(), abi::kPageSize, {}, NextNonce(), key_);
  out.CountCopy();  // encrypting is a pass over the page like a copy
  return tag;
}

void FrameSeal::OpenPayload(std::span<const uint8_t, kFrameHeaderSize> header,
                            std::span<uint8_t> payload, std::span<const uint8_t, kTagBytes> tag) {
  if (security_ == TransportSecurity::kNone) return;
  const uint64_t part = count_;
  bool ok = false;
  if (security_ == TransportSecurity::kEncrypted) {
    ok = Open(payload.data(), payload.size(), header, tag, NextNonce(), key_);
  } else {
    std::array<uint8_t, kFrameHeaderSize + kMaxFramePayload> ad{};
    std::memcpy(ad.data(), header.data(), header.size());
    std::memcpy(ad.data() + header.size(), payload.data(), payload.size());
    ok = Open(nullptr, 0, std::span(ad).first(header.size() + payload.size()), tag, NextNonce(),
              key_);
  }
  if (!ok) {
    throw Error(
        fmt::format("sent a frame that failed authentication (part {} of the connection)", part));
  }
}

void FrameSeal::OpenPage(std::span<uint8_t> page, std::span<const uint8_t, kTagBytes> tag) {
  if (security_ == TransportSecurity::kNone) return;
  const uint64_t part = count_;
  const bool ok = security_ == TransportSecurity::kEncrypted
                      ? Open(page.data(), page.size(), {}, tag, NextNonce(), key_)
                      : Open(nullptr, 0, page, tag, NextNonce(), key_);
  if (!ok) {
    throw Error(
        fmt::format("sent a page that failed authentication (part {} of the connection)", part));
  }
}

}  // namespace ssivm::cluster

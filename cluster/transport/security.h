// How a cluster's connections are protected, and the secret that proves a
// node belongs to the cluster. Every connection passes a mutual
// challenge-response handshake keyed with the cluster secret (handshake.h);
// after it, frames are sealed (frame_seal.h) with keys of that connection.
#ifndef SSIVM_CLUSTER_TRANSPORT_SECURITY_H_
#define SSIVM_CLUSTER_TRANSPORT_SECURITY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ssivm::cluster {

enum class TransportSecurity : uint8_t {
  // No secret: anyone who knows the cluster's name and epoch can join, and
  // read and write guest memory. Only as an explicit opt-out.
  kNone = 0,
  // Every frame carries a tag (ChaCha20-Poly1305) that only holders of the
  // secret can make; pages cross in clear.
  kAuthenticated = 1,
  // Authenticated and encrypted (the default).
  kEncrypted = 2,
};

inline constexpr size_t kSecretBytes = 32;
using ClusterSecret = std::array<uint8_t, kSecretBytes>;

// "none", "authenticated", "encrypted": the manifest's spelling.
inline const char* SecurityName(TransportSecurity s) {
  switch (s) {
    case TransportSecurity::kNone:
      return "none";
    case TransportSecurity::kAuthenticated:
      return "authenticated";
    case TransportSecurity::kEncrypted:
      return "encrypted";
  }
  return "unknown";
}

inline std::optional<TransportSecurity> SecurityFromName(std::string_view name) {
  for (const auto s : {TransportSecurity::kNone, TransportSecurity::kAuthenticated,
                       TransportSecurity::kEncrypted}) {
    if (name == SecurityName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_SECURITY_H_

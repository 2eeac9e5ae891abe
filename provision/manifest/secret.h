// The cluster secret: 32 random bytes, kept beside the manifest in a file
// only its owner can read ("lab.toml" -> "lab.secret", 64 hex digits). Every
// node of the cluster holds the same file (ssictl pushes it like the
// manifest); the transport's handshake proves a connection's peer holds it
// too (cluster/transport/handshake.h).
#ifndef SSIVM_PROVISION_MANIFEST_SECRET_H_
#define SSIVM_PROVISION_MANIFEST_SECRET_H_

#include <string>

#include "cluster/transport/security.h"

namespace ssivm::provision {

// Where the secret of the manifest at `manifest_path` lives.
std::string SecretPath(const std::string& manifest_path);

// Fresh random bytes (libsodium's randombytes).
cluster::ClusterSecret NewSecret();

// Reads a secret file. Throws Error naming the file and the problem: it is
// missing (with how to make one), readable or writable by others than its
// owner, owned by another user than this one or root, or not 64 hex digits.
cluster::ClusterSecret LoadSecret(const std::string& path);

// Writes the file with mode 0600, atomically (a new temporary file renamed
// into place; a symlink at either path is never followed).
void SaveSecret(const cluster::ClusterSecret& secret, const std::string& path);

// The manifest's secret, made (and saved) if it has none yet. Returns
// true if it made one.
bool EnsureSecret(const std::string& manifest_path);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_MANIFEST_SECRET_H_

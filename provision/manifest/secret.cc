#include "provision/manifest/secret.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>

#include "common/error.h"
#include "common/file.h"
#include "common/unique_fd.h"

namespace ssivm::provision {

std::string SecretPath(const std::string& manifest_path) {
  return std::filesystem::path(manifest_path).replace_extension(".secret").string();
}

cluster::ClusterSecret NewSecret() {
  if (sodium_init() < 0) throw Error("libsodium failed to initialise");
  cluster::ClusterSecret s{};
  randombytes_buf(s.data(), s.size());
  return s;
}

cluster::ClusterSecret LoadSecret(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) {
      throw Error(fmt::format(
          "cluster secret {}: missing; `ssictl up` and `ssictl manifest new` make one beside the "
          "manifest (or set transport_security = \"none\" in the manifest to run without one, "
          "insecurely)",
          path));
    }
    ThrowErrno(fmt::format("cluster secret {}", path), err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) ThrowErrno(fmt::format("cluster secret {}", path));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("cluster secret {}: not a regular file", path));
  if ((st.st_mode & 077) != 0) {
    throw Error(
        fmt::format("cluster secret {}: mode {:04o} lets other users read or change it; "
                    "run chmod 600 on it",
                    path, st.st_mode & 07777));
  }
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    throw Error(fmt::format("cluster secret {}: owned by uid {}, not by this user ({}) or root",
                            path, st.st_uid, ::geteuid()));
  }
  char text[2 * cluster::kSecretBytes + 2] = {};
  ssize_t n = 0;
  do {
    n = ::read(fd.get(), text, sizeof(text));
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(fmt::format("cluster secret {}", path));
  std::string_view hex(text, static_cast<size_t>(n));
  if (!hex.empty() && hex.back() == '\n') hex.remove_suffix(1);
  cluster::ClusterSecret s{};
  size_t got = 0;
  if (hex.size() != 2 * s.size() ||
      sodium_hex2bin(s.data(), s.size(), hex.data(), hex.size(), nullptr, &got, nullptr) != 0 ||
      got != s.size()) {
    throw Error(fmt::format("cluster secret {}: not {} hex digits", path, 2 * s.size()));
  }
  return s;
}

namespace {

std::string SecretText(const cluster::ClusterSecret& secret) {
  std::string text(2 * secret.size() + 1, '\0');
  sodium_bin2hex(text.data(), text.size(), secret.data(), secret.size());
  text.back() = '\n';
  return text;
}

}  // namespace

void SaveSecret(const cluster::ClusterSecret& secret, const std::string& path) {
  WriteFileAtomic(path, SecretText(secret), 0600);
}

bool EnsureSecret(const std::string& manifest_path) {
  const std::string path = SecretPath(manifest_path);
  if (CreateFileExclusive(path, SecretText(NewSecret()), 0600)) return true;
  LoadSecret(path);  // there, and usable
  return false;
}

}  // namespace ssivm::provision

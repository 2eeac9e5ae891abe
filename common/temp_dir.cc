#include "common/temp_dir.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

TempDir::TempDir(const std::string& prefix) {
  std::string base = "/tmp";
  // Unix socket paths inside must stay short.
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t == '/' && std::strlen(t) < 60) {
    base = t;
  }
  std::string tmpl = fmt::format("{}/{}-XXXXXX", base, prefix);
  if (::mkdtemp(tmpl.data()) == nullptr) ThrowErrno(fmt::format("mkdtemp {}", tmpl));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ssivm

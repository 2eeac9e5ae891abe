#include "common/temp_dir.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

std::string TempBase() {
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t == '/' && std::strlen(t) < 60) {
    return t;
  }
  return "/tmp";
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = fmt::format("{}/{}-XXXXXX", TempBase(), prefix);
  if (::mkdtemp(tmpl.data()) == nullptr) ThrowErrno(fmt::format("mkdtemp {}", tmpl));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ssivm

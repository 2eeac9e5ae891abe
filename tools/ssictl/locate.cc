#include "tools/ssictl/locate.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

namespace fs = std::filesystem;

std::string SelfExe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

}  // namespace

std::vector<std::string> CandidatePaths(const std::string& exe, const std::string& relative) {
  std::vector<std::string> out;
  if (const char* rf = std::getenv("RUNFILES_DIR")) {
    out.push_back((fs::path(rf) / "ssivm" / relative).string());
  }
  if (!exe.empty()) {
    const fs::path e(exe);
    out.push_back((fs::path(exe + ".runfiles") / "ssivm" / relative).string());
    // bazel-bin/tools/ssictl/ssictl -> bazel-bin/<relative>
    out.push_back((e.parent_path().parent_path().parent_path() / relative).string());
    out.push_back((e.parent_path() / fs::path(relative).filename()).string());
  }
  return out;
}

std::string Locate(const std::string& relative, const char* env_override) {
  if (env_override != nullptr) {
    if (const char* v = std::getenv(env_override); v != nullptr && *v != '\0') return v;
  }
  const std::vector<std::string> candidates = CandidatePaths(SelfExe(), relative);
  for (const std::string& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c;
  }
  std::string looked;
  for (const std::string& c : candidates) looked += "\n  " + c;
  throw Error(fmt::format("cannot find {} (set {} or build it with bazel); looked in:{}", relative,
                          env_override ? env_override : "its path", looked));
}

}  // namespace ssivm

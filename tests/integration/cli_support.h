// Shared by the tests that drive the ssictl and ssivm binaries: paths of
// the binaries in the runfiles, a private run directory, short socket
// paths, scratch files.
#ifndef SSIVM_TESTS_INTEGRATION_CLI_SUPPORT_H_
#define SSIVM_TESTS_INTEGRATION_CLI_SUPPORT_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace ssivm::cli_test {

inline constexpr char kSsictl[] = "tools/ssictl/ssictl";
inline constexpr char kSsivm[] = "hypervisor/ssivm";
inline constexpr char kKernel[] = "guest/kernel";

// A run directory of our own (short: it holds Unix sockets), so that status
// and down see only this test's VMs. Register it with
// ::testing::AddGlobalTestEnvironment.
class RunDirEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = "/tmp/ssivm-test-" + std::to_string(std::random_device{}() % 1000000);
    ::setenv("SSIVM_RUN_DIR", dir_.c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

 private:
  std::string dir_;
};

inline std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// Unix socket paths must be short (108 bytes): not under TEST_TMPDIR.
inline std::string SocketPath(const std::string& name) {
  static const std::string token = std::to_string(std::random_device{}() % 1000000);
  const std::string path = "/tmp/ssivm-test-" + token + "-" + name;
  ::unlink(path.c_str());  // never connect to a stale socket of an earlier run
  return path;
}

inline std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

inline testing::ProcessResult Ssictl(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), kSsictl);
  return testing::RunProcess(args, input);
}

// The vocabulary of these tests (they say `using namespace cli_test`).
using ::ssivm::testing::Describe;
using ::ssivm::testing::ProcessResult;
using ::ssivm::testing::RunProcess;
using ::testing::HasSubstr;
using ::testing::Not;

// Every program that includes this runs with its own run directory.
inline const auto* const kRunDir = ::testing::AddGlobalTestEnvironment(new RunDirEnvironment);

}  // namespace ssivm::cli_test

#endif  // SSIVM_TESTS_INTEGRATION_CLI_SUPPORT_H_

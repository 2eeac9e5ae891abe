// Shared by the guest kernel integration tests: boots hypervisor/ssivm with
// guest/kernel and a command line, feeding `input` to the console.
#ifndef SSIVM_TESTS_INTEGRATION_GUEST_TEST_UTIL_H_
#define SSIVM_TESTS_INTEGRATION_GUEST_TEST_UTIL_H_

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace ssivm::guest_test {

inline testing::ProcessResult BootGuest(uint32_t vcpus, const std::string& cmdline,
                                        const std::string& input = "",
                                        std::chrono::seconds timeout = std::chrono::seconds(300)) {
  std::vector<std::string> argv = {
      "hypervisor/ssivm", "--kernel", "guest/kernel", "--vcpus", std::to_string(vcpus),
      "--memory",         "128",      "--console",    "stdio"};
  if (!cmdline.empty()) argv.insert(argv.end(), {"--cmdline", cmdline});
  return testing::RunProcess(argv, input, timeout);
}

}  // namespace ssivm::guest_test

#endif  // SSIVM_TESTS_INTEGRATION_GUEST_TEST_UTIL_H_

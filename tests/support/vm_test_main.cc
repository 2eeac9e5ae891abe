// main() of the tests that boot VMs: where the host has no usable /dev/kvm,
// the whole test program runs again inside the emulated hardware-KVM
// machine (tools/hwkvm/vm_test.h), and its status is this program's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "hypervisor/emulated/agent.h"
#include "tools/hwkvm/vm_test.h"

int main(int argc, char** argv) {
  ssivm::emulated::RunAgentIfAsked(argc, argv);
  try {
    std::vector<std::string> self = {std::filesystem::read_symlink("/proc/self/exe").string()};
    self.insert(self.end(), argv + 1, argv + argc);
    if (auto status = ssivm::hwkvm::RunInEmulatedMachineIfNeeded(self)) return *status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot run this test where KVM is: %s\n", e.what());
    return 1;
  }
  ::testing::InitGoogleMock(&argc, argv);
  return RUN_ALL_TESTS();
}

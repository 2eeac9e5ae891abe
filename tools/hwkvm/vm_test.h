// VM tests under Bazel: a test that boots VMs runs where KVM is. With a
// usable /dev/kvm (and SSIVM_KVM auto or host) it runs right here;
// otherwise the whole test program runs again inside one emulated
// hardware-KVM machine, with the directories Bazel gave it shared
// read-write, so its results (test.xml, outputs) land where Bazel looks.
// One machine boot per test program; the same test sources either way.
#ifndef SSIVM_TOOLS_HWKVM_VM_TEST_H_
#define SSIVM_TOOLS_HWKVM_VM_TEST_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ssivm::hwkvm {

// What a Bazel test may write, how long it has, where the machine's
// console log goes; from the test's environment variables. Pure logic.
struct BazelTestLayout {
  std::vector<std::string> rw_dirs;  // outermost directories only
  std::chrono::seconds timeout{0};   // what the emulated run may take (0: no limit)
  std::string log_path;              // empty: none
};
BazelTestLayout LayoutFromEnv(const std::map<std::string, std::string>& env);

// `dirs` without those inside another one, sorted.
std::vector<std::string> OutermostDirs(std::vector<std::string> dirs);

// Runs `argv` inside the emulated machine if the test cannot run here;
// returns its exit status then, nullopt if the caller should run the test
// itself. `need_hardware`: the test needs hardware KVM (PVM does not do).
// The machine's size comes from SSIVM_HWKVM_CPUS / SSIVM_HWKVM_MEMORY_MIB
// (defaults: every host CPU, 4 GiB).
std::optional<int> RunInEmulatedMachineIfNeeded(const std::vector<std::string>& argv,
                                                bool need_hardware = false);

}  // namespace ssivm::hwkvm

#endif  // SSIVM_TOOLS_HWKVM_VM_TEST_H_

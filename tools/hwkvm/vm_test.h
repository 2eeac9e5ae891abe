// VM tests under Bazel: a test that boots VMs runs where KVM is. With a
// usable /dev/kvm (and SSIVM_KVM auto or host) it runs right here;
// otherwise the whole test program runs again inside an emulated
// hardware-KVM machine, with the directories Bazel gave it shared
// read-write, so its outputs land where Bazel looks. One machine boot per
// test program, unless the emulated machine's nested-SVM fault hits a machine: then
// the case it hit and those after it run in a new machine, at most
// kMachinesPerCase times per case (test_progress.h), and this program
// writes test.xml from what the cases reported. The same test sources
// either way.
#ifndef SSIVM_TOOLS_HWKVM_VM_TEST_H_
#define SSIVM_TOOLS_HWKVM_VM_TEST_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/hwkvm/test_progress.h"

namespace ssivm::hwkvm {

// Machines a case may start in before its emulator faults count as its
// failure.
inline constexpr int kMachinesPerCase = 3;
// A new machine needs at least this much of the test's time.
inline constexpr std::chrono::seconds kLeastMachineTime{120};
// How long a test's machine may take to boot.
inline constexpr std::chrono::seconds kTestBootTimeout{120};

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

// `argv` (a GoogleTest program's) with a filter for exactly `cases`.
std::vector<std::string> WithOnlyCases(const std::vector<std::string>& argv,
                                       const std::vector<CaseId>& cases);

}  // namespace ssivm::hwkvm

#endif  // SSIVM_TOOLS_HWKVM_VM_TEST_H_

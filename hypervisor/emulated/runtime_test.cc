#include "hypervisor/emulated/runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "common/error.h"

namespace ssivm::emulated {
namespace {

using ::testing::HasSubstr;

TEST(Runtime, ParsesChoices) {
  EXPECT_EQ(ParseKvmChoice("auto"), KvmChoice::kAuto);
  EXPECT_EQ(ParseKvmChoice("host"), KvmChoice::kHost);
  EXPECT_EQ(ParseKvmChoice("emulated"), KvmChoice::kEmulated);
  EXPECT_FALSE(ParseKvmChoice("qemu"));
}

TEST(Runtime, AutoUsesTheHostsKvmWhenItOpens) {
  const KvmDecision d = DecideKvm(KvmChoice::kAuto, {0, true}, "/dev/kvm");
  EXPECT_FALSE(d.emulated);
}

TEST(Runtime, AutoEmulatesWithoutKvmAndSaysWhy) {
  const KvmDecision d = DecideKvm(KvmChoice::kAuto, {ENOENT, false}, "/dev/kvm");
  EXPECT_TRUE(d.emulated);
  EXPECT_THAT(d.reason, HasSubstr("/dev/kvm: No such file or directory"));
  EXPECT_TRUE(DecideKvm(KvmChoice::kAuto, {EACCES, true}, "/dev/kvm").emulated);
}

TEST(Runtime, HardwareOnlyWorkEmulatesOnPvm) {
  EXPECT_TRUE(DecideKvm(KvmChoice::kAuto, {0, false}, "/dev/kvm", true).emulated);
  EXPECT_FALSE(DecideKvm(KvmChoice::kAuto, {0, true}, "/dev/kvm", true).emulated);
  EXPECT_FALSE(DecideKvm(KvmChoice::kAuto, {0, false}, "/dev/kvm", false).emulated);
}

TEST(Runtime, ExplicitChoicesAreTaken) {
  EXPECT_TRUE(DecideKvm(KvmChoice::kEmulated, {0, true}, "/dev/kvm").emulated);
  EXPECT_FALSE(DecideKvm(KvmChoice::kHost, {0, false}, "/dev/kvm").emulated);
  try {
    DecideKvm(KvmChoice::kHost, {ENOENT, false}, "/dev/kvm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("--kvm host, but /dev/kvm: No such file"));
  }
}

TEST(Runtime, TheEnvironmentDecidesForAuto) {
  ::setenv(kKvmEnv, "emulated", 1);
  EXPECT_EQ(ChoiceFrom("auto"), KvmChoice::kEmulated);
  EXPECT_EQ(ChoiceFrom("host"), KvmChoice::kHost);
  ::setenv(kKvmEnv, "bogus", 1);
  EXPECT_THROW(ChoiceFrom("auto"), Error);
  ::unsetenv(kKvmEnv);
  EXPECT_EQ(ChoiceFrom("auto"), KvmChoice::kAuto);
  EXPECT_THROW(ChoiceFrom("qemu"), Error);
}

TEST(Runtime, MachineSizeFollowsTheGuest) {
  const MachineSize demo = SizeFor(2, 256, 2, 2);
  EXPECT_EQ(demo.cpus, 2u);
  EXPECT_EQ(demo.memory_mib, 1024u);  // 256 + 512 + 128, at least 1 GiB
  const MachineSize big = SizeFor(8, 6144, 4, 2);
  EXPECT_EQ(big.cpus, 2u);  // never more CPUs than the host has
  EXPECT_EQ(big.memory_mib, 6912u);
  EXPECT_EQ(SizeFor(1, 128, 1, 8).cpus, 2u);  // room for the VMM's own threads
  EXPECT_EQ(SizeFor(4, 128, 1, 8).cpus, 4u);
  EXPECT_EQ(SizeFor(4, 128, 1, 1).cpus, 1u);
}

TEST(Runtime, InsideTheChoiceIsTheHostsKvm) {
  const char* argv[] = {"ssictl", "up", "--kvm", "emulated", "--nodes", "2", "--kvm=auto", "-x"};
  EXPECT_EQ(ArgsForInside(8, argv),
            (std::vector<std::string>{"up", "--nodes", "2", "-x", "--kvm", "host"}));
  const char* plain[] = {"ssivm", "--kernel", "k"};
  EXPECT_EQ(ArgsForInside(3, plain), (std::vector<std::string>{"--kernel", "k", "--kvm", "host"}));
}

TEST(Runtime, EnvironmentWithReplacesTheVariable) {
  ::setenv("SSIVM_TEST_X", "1", 1);
  const auto env = EnvironmentWith({{"SSIVM_TEST_X", "2"}, {"SSIVM_TEST_Y", "3"}});
  EXPECT_EQ(std::count(env.begin(), env.end(), "SSIVM_TEST_X=2"), 1);
  EXPECT_EQ(std::count(env.begin(), env.end(), "SSIVM_TEST_X=1"), 0);
  EXPECT_EQ(std::count(env.begin(), env.end(), "SSIVM_TEST_Y=3"), 1);
}

}  // namespace
}  // namespace ssivm::emulated

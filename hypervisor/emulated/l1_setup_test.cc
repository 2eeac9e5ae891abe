#include "hypervisor/emulated/l1_setup.h"

#include <gtest/gtest.h>

namespace ssivm::emulated {
namespace {

TEST(L1Setup, VcpuThreadsGetTheMachinesLastCpuUnlessTheHostChose) {
  using Env = std::vector<std::string>;
  EXPECT_EQ(InsideEnvironment({"PATH=/bin"}, 2), (Env{"PATH=/bin", "SSIVM_VCPU_CPUS=1"}));
  EXPECT_EQ(InsideEnvironment({}, 4), (Env{"SSIVM_VCPU_CPUS=3"}));
  EXPECT_EQ(InsideEnvironment({}, 1), (Env{"SSIVM_VCPU_CPUS=0"}));
  EXPECT_EQ(InsideEnvironment({}, -1), (Env{"SSIVM_VCPU_CPUS=0"}));  // sysconf failed
  EXPECT_EQ(InsideEnvironment({"SSIVM_VCPU_CPUS=0-1"}, 2), (Env{"SSIVM_VCPU_CPUS=0-1"}));
  EXPECT_EQ(InsideEnvironment({"SSIVM_VCPU_CPUSX=5"}, 2),
            (Env{"SSIVM_VCPU_CPUSX=5", "SSIVM_VCPU_CPUS=1"}));
}

TEST(L1Setup, NestedPagingIsOnUnlessTheCommandLineTurnsItOff) {
  EXPECT_EQ(KvmAmdNptOption("console=ttyS0 quiet"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("console=ttyS0 hwkvm.npt=1 nokaslr"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("console=ttyS0 hwkvm.npt=0 nokaslr\n"), "npt=0");
  EXPECT_EQ(KvmAmdNptOption("hwkvm.npt=0"), "npt=0");
  // Only a whole parameter counts, and only 0 means off.
  EXPECT_EQ(KvmAmdNptOption("xhwkvm.npt=0"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("hwkvm.npt=no"), "npt=1");
  EXPECT_EQ(KvmAmdNptOption("hwkvm.npt="), "npt=1");
}

}  // namespace
}  // namespace ssivm::emulated

namespace ssivm::emulated {
namespace {

// Lines as kvm:kvm_exit prints them in the emulated machine (Debian 6.1).
constexpr char kShutdownFetch[] =
    "vcpu4-184 [000] ..... 204.067182: kvm_exit: vcpu 4 reason shutdown rip 0x10027c6 info1 "
    "0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000010";

TEST(EmulatorFault, AGuestInKvmAmdsCodeIsEvidence) {
  const std::string line =
      "vcpu1-213 [000] ..... 238.4: kvm_exit: vcpu 1 reason npf rip 0xffffffffc0460123 info1 "
      "0x0000000000000004 info2 0x0000000000123000 intr_info 0x00000000 error_code 0x00000000";
  EXPECT_NE(EmulatorFaultInTrace({line}, std::make_pair(0xffffffffc0451000, 0xffffffffc0479000))
                .find("kvm_amd's code"),
            std::string::npos);
  EXPECT_EQ(EmulatorFaultInTrace({line}, std::make_pair(0xffffffffc0500000, 0xffffffffc0510000)),
            "");
  EXPECT_EQ(EmulatorFaultInTrace({line}, std::nullopt), "");
}

TEST(EmulatorFault, ATripleFaultOnANotPresentFetchOfMappedCodeIsEvidence) {
  EXPECT_NE(EmulatorFaultInTrace({"# tracer: nop", kShutdownFetch}, std::nullopt)
                .find("triple-faulted delivering a page fault"),
            std::string::npos);
}

TEST(EmulatorFault, OtherTripleFaultsAreNot) {
  std::string s = kShutdownFetch;
  // A present-page fault (protection), a data access, another vector, a
  // wild rip, not a shutdown.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"error_code 0x00000010", "error_code 0x00000011"},
           {"error_code 0x00000010", "error_code 0x00000002"},
           {"intr_info 0x80000b0e", "intr_info 0x80000b0d"},
           {"intr_info 0x80000b0e", "intr_info 0x00000b0e"},
           {"rip 0x10027c6", "rip 0x9000"},
           {"rip 0x10027c6", "rip 0xdeadbeef000"},
           {"reason shutdown", "reason hlt"}}) {
    std::string line = s;
    line.replace(line.find(from), from.size(), to);
    EXPECT_EQ(EmulatorFaultInTrace({line}, std::nullopt), "") << line;
  }
  EXPECT_EQ(EmulatorFaultInTrace({}, std::nullopt), "");
}

}  // namespace
}  // namespace ssivm::emulated

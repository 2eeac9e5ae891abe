#include "hypervisor/kvm/host_kind.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "common/error.h"

#include <gtest/gtest.h>

namespace ssivm {
namespace {

TEST(HostKind, HardwareFlagsMeanHardwareKvm) {
  EXPECT_EQ(HostKindFromCpuinfo("processor\t: 0\nflags\t\t: fpu vme de svm lm\n"),
            HostKind::kHardware);
  EXPECT_EQ(HostKindFromCpuinfo("flags\t: fpu vmx sse\n"), HostKind::kHardware);
}

TEST(HostKind, NoVirtualisationFlagsMeanPvm) {
  EXPECT_EQ(HostKindFromCpuinfo("processor\t: 0\nflags\t\t: fpu vme de lm svm_lock\n"),
            HostKind::kPvm);
  EXPECT_EQ(HostKindFromCpuinfo(""), HostKind::kPvm);
}

TEST(HostKind, DetectionReadsTheCpuinfoFile) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/cpuinfo";
  std::ofstream(path) << "processor\t: 0\nflags\t\t: fpu svm lm\n";
  EXPECT_EQ(DetectHostKind(path), HostKind::kHardware);
  std::ofstream(path) << "processor\t: 0\nflags\t\t: fpu lm\n";
  EXPECT_EQ(DetectHostKind(path), HostKind::kPvm);
  EXPECT_THROW(DetectHostKind("/nonexistent/cpuinfo"), Error);
}

TEST(HostKind, NamesRoundTrip) {
  EXPECT_EQ(ParseHostKind(HostKindName(HostKind::kPvm)), HostKind::kPvm);
  EXPECT_EQ(ParseHostKind(HostKindName(HostKind::kHardware)), HostKind::kHardware);
  EXPECT_EQ(ParseHostKind("vmx"), std::nullopt);
}

}  // namespace
}  // namespace ssivm

// Runs against the real /dev/kvm of this machine.
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/mapping.h"
#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/kvm/kvm_vm.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

std::string OpenError(const std::string& path) {
  try {
    KvmSystem::Open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Kvm, MissingDeviceIsExplained) {
  EXPECT_THAT(OpenError("/nonexistent/kvm"), HasSubstr("KVM is not available"));
}

TEST(Kvm, NonKvmDeviceIsRejected) {
  EXPECT_THAT(OpenError("/dev/null"), HasSubstr("KVM API version"));
}

TEST(Kvm, PermissionDeniedIsExplained) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges in a child";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
    const std::string msg = OpenError("/dev/kvm");
    (void)!::write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  ::close(fds[1]);
  char buf[512] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof(buf) - 1);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) GTEST_SKIP() << "cannot drop privileges here";
  ASSERT_GT(n, 0) << "/dev/kvm opened as an unprivileged user";
  EXPECT_THAT(std::string(buf), HasSubstr("permission denied"));
}

TEST(Kvm, CreatesVmSlotAndVcpu) {
  KvmSystem sys = KvmSystem::Open();
  EXPECT_GT(sys.CheckExtension(KVM_CAP_USER_MEMORY), 0);
  EXPECT_GE(sys.MaxVcpus(), 1);
  EXPECT_FALSE(sys.SupportedCpuid().empty());
  KvmVm vm(sys);
  vm.CreateIrqchip();
  Mapping ram = Mapping::Anonymous(2 << 20, "test RAM");
  vm.SetMemorySlot(0, 0, ram.size(), ram.data());
  KvmVcpu vcpu(vm, 0);
  EXPECT_EQ(vcpu.id(), 0u);
  kvm_regs r = vcpu.GetRegs();
  r.rax = 0x1234;
  vcpu.SetRegs(r);
  EXPECT_EQ(vcpu.GetRegs().rax, 0x1234u);
}

TEST(Kvm, MissingCapabilityIsNamed) {
  KvmSystem sys = KvmSystem::Open();
  try {
    sys.Require(100000, "KVM_CAP_FROM_THE_FUTURE");
    FAIL() << "a nonexistent capability was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("KVM_CAP_FROM_THE_FUTURE"));
  }
}

TEST(Kvm, BadSlotIsReportedWithItsRange) {
  KvmSystem sys = KvmSystem::Open();
  KvmVm vm(sys);
  Mapping ram = Mapping::Anonymous(1 << 20, "test RAM");
  try {
    vm.SetMemorySlot(0, 0x1001, ram.size(), ram.data());  // unaligned: EINVAL
    FAIL() << "an unaligned slot was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("slot 0 [0x1001"));
  }
}

TEST(Kvm, DuplicateVcpuIdIsReported) {
  KvmSystem sys = KvmSystem::Open();
  KvmVm vm(sys);
  KvmVcpu a(vm, 0);
  try {
    KvmVcpu b(vm, 0);
    FAIL() << "the same vCPU id was created twice";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("KVM_CREATE_VCPU for vCPU 0"));
  }
}

}  // namespace
}  // namespace ssivm

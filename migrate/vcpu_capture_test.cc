// Captures a running vCPU in one KVM VM and restores it into the vCPU of the
// same id in another VM, which continues where the first one stopped. Needs
// hardware KVM (a real-mode guest): runs in the emulated hardware-KVM
// machine where the host has none, or only PVM.
#include "migrate/vcpu_capture.h"

#include <array>

#include <gtest/gtest.h>

#include "common/error.h"
#include "hypervisor/kvm/kvm_system.h"
#include "migrate/vcpu_state_codec.h"
#include "tests/support/real_mode_vm.h"

namespace ssivm::migrate {
namespace {

constexpr uint64_t kCodeGpa = 0x1000;
constexpr uint16_t kPort = 0x10;
constexpr uint32_t kLstar = 0xc0000082;
constexpr uint32_t kKernelGsBase = 0xc0000102;
constexpr size_t kTprOffset = 0x80;
// 16-bit real mode: inc eax; out 0x10, al; jmp back to inc.
constexpr std::array<uint8_t, 6> kLoop = {0x66, 0x40, 0xe6, kPort, 0xeb, 0xfa};

// A one-vCPU VM running kLoop; both VMs of the test get one each.
struct TinyVm : testing::RealModeVm {
  explicit TinyVm(const KvmSystem& sys) : RealModeVm(sys, kLoop, kCodeGpa) {}
  // Runs to the next OUT; returns the byte written.
  int RunToOut() {
    for (int i = 0; i < 100; ++i) {
      const int err = vcpu->Run();
      if (err == EINTR) continue;
      EXPECT_EQ(err, 0);
      kvm_run* r = vcpu->run();
      if (r->exit_reason != KVM_EXIT_IO) {
        ADD_FAILURE() << "exit reason " << r->exit_reason;
        return -1;
      }
      EXPECT_EQ(r->io.port, kPort);
      return reinterpret_cast<uint8_t*>(r)[r->io.data_offset];
    }
    return -1;
  }
};

TEST(VcpuCapture, ARestoredVcpuContinuesWhereTheCapturedOneStopped) {
  const KvmSystem sys = KvmSystem::Open();
  TinyVm source(sys);
  KvmVcpu& a = *source.vcpu;
  kvm_regs regs = a.GetRegs();
  regs.rax = 41;
  a.SetRegs(regs);
  a.SetMsrs({{kLstar, 0xffffffff81234560}, {kKernelGsBase, 0x1234000}});
  kvm_lapic_state lapic = a.GetLapic();
  lapic.regs[kTprOffset] = 0x20;
  a.SetLapic(lapic);
  ASSERT_EQ(source.RunToOut(), 42);

  const CaptureFeatures features = DetectCaptureFeatures(sys, a);
  CompletePendingExit(a);
  const std::array<uint8_t, 3> slot = {1, 2, 3};
  const VcpuState captured = CaptureVcpu(a, features, slot);
  EXPECT_EQ(captured.regs.rip, kCodeGpa + 4) << "the OUT was not completed before capture";
  // Over the wire form, as between two nodes.
  const VcpuState moved = DecodeVcpuState(EncodeVcpuState(captured));
  EXPECT_EQ(moved.private_slot, std::vector<uint8_t>(slot.begin(), slot.end()));

  TinyVm target(sys);
  RestoreVcpu(*target.vcpu, moved);
  KvmVcpu& b = *target.vcpu;
  EXPECT_EQ(b.GetMsr(kLstar), 0xffffffff81234560u);
  EXPECT_EQ(b.GetMsr(kKernelGsBase), 0x1234000u);
  EXPECT_EQ(b.GetLapic().regs[kTprOffset], 0x20);
  EXPECT_EQ(target.RunToOut(), 43);
  EXPECT_EQ(target.RunToOut(), 44);
}

TEST(VcpuCapture, RefusesTheStateOfAnotherVcpu) {
  const KvmSystem sys = KvmSystem::Open();
  TinyVm vm(sys);
  VcpuState s = CaptureVcpu(*vm.vcpu, DetectCaptureFeatures(sys, *vm.vcpu), {});
  s.vcpu = 5;
  EXPECT_THROW(RestoreVcpu(*vm.vcpu, s), Error);
}

}  // namespace
}  // namespace ssivm::migrate

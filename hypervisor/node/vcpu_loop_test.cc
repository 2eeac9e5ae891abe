// A vCPU that runs a real guest loop is paused by its VcpuLoop, saved and
// resumed. Needs hardware KVM (a real-mode guest): runs in the emulated
// hardware-KVM machine where the host has none, or only PVM.
#include "hypervisor/node/vcpu_loop.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "common/error.h"
#include "hypervisor/devices/io_bus.h"
#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/node/vm_stop.h"
#include "tests/support/real_mode_vm.h"

namespace ssivm {
namespace {

constexpr uint64_t kCodeGpa = 0x1000;
constexpr uint16_t kPort = 0x10;
// 16-bit real mode: inc eax; out 0x10, eax; jmp back to inc.
constexpr std::array<uint8_t, 7> kLoop = {0x66, 0x40, 0x66, 0xe7, kPort, 0xeb, 0xf9};
constexpr auto kPatience = std::chrono::seconds(120);

// Records what the guest writes, and lets the test wait for it.
class Counter final : public PioDevice {
 public:
  uint32_t Read(uint16_t /*offset*/, uint8_t /*size*/) override { return 0; }
  void Write(uint16_t /*offset*/, uint8_t /*size*/, uint32_t value) override {
    std::lock_guard lock(mu_);
    last_ = value;
    ++writes_;
    cv_.notify_all();
  }
  // Waits until at least `n` writes were made; false after kPatience.
  bool WaitFor(uint64_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return writes_ >= n; });
  }
  uint64_t writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  uint32_t last() const {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t writes_ = 0;
  uint32_t last_ = 0;
};

TEST(VcpuLoop, PausesSavesAndResumesARunningVcpu) {
  const KvmSystem sys = KvmSystem::Open();
  testing::RealModeVm vm(sys, kLoop, kCodeGpa);
  KvmVcpu& vcpu = *vm.vcpu;

  Counter counter;
  IoBus bus;
  bus.Register(kPort, 4, "counter", &counter);
  VmStop stop;
  InstallVcpuKickSignal();
  VcpuLoop loop(vcpu, bus, stop, {});
  const migrate::CaptureFeatures features = migrate::DetectCaptureFeatures(sys, vcpu);
  EXPECT_THROW(loop.Save(features, {}), Error) << "saved a vCPU that was not paused";
  loop.Start();
  ASSERT_TRUE(counter.WaitFor(100));

  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(loop.Pause());
    const uint64_t writes = counter.writes();
    const migrate::VcpuState s = loop.Save(features, {});
    // Wherever the kick caught the guest, every OUT it made is complete:
    // on the OUT itself (0x1002) eax is one past what was written (the inc
    // ran, the OUT did not); at the inc or the jmp it is what was written.
    // A pending OUT (RIP on it, eax already written) would run twice.
    const auto eax = static_cast<uint32_t>(s.regs.rax);
    if (s.regs.rip == kCodeGpa + 2) {
      EXPECT_EQ(eax, counter.last() + 1);
    } else {
      EXPECT_TRUE(s.regs.rip == kCodeGpa || s.regs.rip == kCodeGpa + 5) << s.regs.rip;
      EXPECT_EQ(eax, counter.last());
    }
    EXPECT_EQ(counter.writes(), writes) << "the guest ran while paused";
    // Restoring the state it had keeps it going from there.
    loop.Restore(s);
    loop.Resume();
    ASSERT_TRUE(counter.WaitFor(writes + 100));
    EXPECT_GT(counter.last(), eax);
  }
  stop.Request({0, "test done", false});
  loop.Kick();
  loop.Join();
  EXPECT_FALSE(loop.Pause()) << "a stopped vCPU reported paused";
}

}  // namespace
}  // namespace ssivm

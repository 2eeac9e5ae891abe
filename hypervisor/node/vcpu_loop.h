// The thread that runs one vCPU: KVM_RUN, then handle the exit, until the VM
// stops.
#ifndef SSIVM_HYPERVISOR_NODE_VCPU_LOOP_H_
#define SSIVM_HYPERVISOR_NODE_VCPU_LOOP_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "hypervisor/devices/io_bus.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/node/vm_stop.h"
#include "migrate/vcpu_capture.h"
#include "migrate/vcpu_state.h"

namespace ssivm {

// Installs the (empty) handler of the signal that kicks vCPU threads out of
// KVM_RUN. Call once, before starting vCPU threads.
void InstallVcpuKickSignal();

class VcpuLoop {
 public:
  // `host_cpus`: the host CPUs the thread may run on (empty: any).
  VcpuLoop(KvmVcpu& vcpu, IoBus& bus, VmStop& stop, std::vector<int> host_cpus)
      : vcpu_(vcpu), bus_(bus), stop_(stop), host_cpus_(std::move(host_cpus)) {}
  // If the VMM unwinds while vCPUs run (an error elsewhere), stop them first.
  ~VcpuLoop() {
    if (thread_.joinable()) {
      stop_.Request({kExitVmmError, "the VMM failed while the guest ran", true});
      Kick();
    }
    Join();
  }

  // Called on the vCPU's thread as it starts, before it enters the guest
  // (the DSM attributes faults by thread). Before Start.
  void OnThreadStart(std::function<void(uint32_t vcpu, uint32_t tid)> f) {
    on_thread_start_ = std::move(f);
  }
  void Start();
  // Starts the thread parked (as after Pause): a vCPU another node runs,
  // until a migration restores it here and resumes it.
  void StartPaused();
  // Makes KVM_RUN return now or on its next entry (stop requests use this).
  void Kick();
  void Join();

  // Parks the vCPU's thread between two KVM_RUNs, with what its last exit
  // left pending completed (an OUT's RIP moved past it), and waits until it
  // is parked. False if the VM stopped first or the thread does not run.
  // Migration uses this.
  bool Pause();
  // Lets a paused vCPU run again.
  void Resume();
  // A paused vCPU's whole state (`slot`: its node-private slot), and the
  // way back: both throw Error unless the vCPU is paused.
  migrate::VcpuState Save(const migrate::CaptureFeatures& features,
                          std::span<const uint8_t> slot) const;
  void Restore(const migrate::VcpuState& state);
  // A paused vCPU's pending events and RIP (migrate/capture_point.h); both
  // throw Error unless it is paused.
  kvm_vcpu_events Events() const;
  uint64_t Rip() const;

  uint64_t exits() const { return exits_.load(std::memory_order_relaxed); }

 private:
  void Run();
  // On the vCPU's thread, between two KVM_RUNs: parks while a pause is asked.
  void ParkWhilePaused();
  void RequirePaused(const char* what) const;
  // Confines this thread to host_cpus_; false (the VM stops) if the host refuses.
  bool PinToHostCpus();
  // Returns false when the VM must stop.
  bool HandleExit();
  void HandleIo();
  void HandleMmio();
  std::string Crash(std::string_view what);

  KvmVcpu& vcpu_;
  IoBus& bus_;
  VmStop& stop_;
  const std::vector<int> host_cpus_;
  std::function<void(uint32_t vcpu, uint32_t tid)> on_thread_start_;
  std::thread thread_;
  std::atomic<uint64_t> exits_{0};
  mutable std::mutex pause_mu_;
  std::condition_variable pause_cv_;
  // Written under pause_mu_; the vCPU loop reads it without the lock.
  std::atomic<bool> pause_asked_{false};
  bool parked_ = false;
  // The last KVM_RUN returned an exit whose I/O KVM completes on the next
  // one (vCPU thread only).
  bool exit_pending_ = false;
  bool ended_ = false;  // the thread left its loop
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_VCPU_LOOP_H_

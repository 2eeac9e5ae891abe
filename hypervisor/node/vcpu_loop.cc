#include "hypervisor/node/vcpu_loop.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <csignal>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/thread_filter.h"
#include "hypervisor/node/cpu_list.h"

namespace ssivm {
namespace {

constexpr int kKickSignal = SIGUSR1;

void OnKick(int) {}

}  // namespace

void InstallVcpuKickSignal() {
  struct sigaction sa {};
  sa.sa_handler = OnKick;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
  if (::sigaction(kKickSignal, &sa, nullptr) != 0) ThrowErrno("sigaction for the vCPU kick");
}

void VcpuLoop::Start() {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), fmt::format("vcpu{}", vcpu_.id()).c_str());
}

void VcpuLoop::StartPaused() {
  {
    std::lock_guard lock(pause_mu_);
    pause_asked_ = true;
  }
  Start();
}

void VcpuLoop::Kick() {
  vcpu_.run()->immediate_exit = 1;
  if (thread_.joinable()) pthread_kill(thread_.native_handle(), kKickSignal);
  // A parked thread waits on the condition, not in KVM_RUN.
  std::lock_guard lock(pause_mu_);
  pause_cv_.notify_all();
}

bool VcpuLoop::Pause() {
  if (!thread_.joinable()) return false;  // not started, or joined
  {
    std::lock_guard lock(pause_mu_);
    pause_asked_ = true;
  }
  Kick();
  std::unique_lock lock(pause_mu_);
  pause_cv_.wait(lock, [this] { return parked_ || ended_ || stop_.requested(); });
  return parked_;
}

void VcpuLoop::Resume() {
  std::lock_guard lock(pause_mu_);
  pause_asked_ = false;
  pause_cv_.notify_all();
}

void VcpuLoop::RequirePaused(const char* what) const {
  std::lock_guard lock(pause_mu_);
  if (!parked_) throw Error(fmt::format("vCPU {}: {} needs it paused", vcpu_.id(), what));
}

migrate::VcpuState VcpuLoop::Save(const migrate::CaptureFeatures& features,
                                  std::span<const uint8_t> slot) const {
  RequirePaused("saving its state");
  return migrate::CaptureVcpu(vcpu_, features, slot);
}

void VcpuLoop::Restore(const migrate::VcpuState& state) {
  RequirePaused("restoring its state");
  migrate::RestoreVcpu(vcpu_, state);
}

kvm_vcpu_events VcpuLoop::Events() const {
  RequirePaused("reading its pending events");
  return vcpu_.GetEvents();
}

uint64_t VcpuLoop::Rip() const {
  RequirePaused("reading its registers");
  return vcpu_.GetRegs().rip;
}

void VcpuLoop::ParkWhilePaused() {
  if (!pause_asked_) return;
  // KVM finishes the last exit's I/O on the next KVM_RUN: do that now, so
  // that a saved state does not repeat it.
  if (exit_pending_) migrate::CompletePendingExit(vcpu_);
  exit_pending_ = false;
  std::unique_lock lock(pause_mu_);
  parked_ = true;
  pause_cv_.notify_all();
  pause_cv_.wait(lock, [this] { return !pause_asked_ || stop_.requested(); });
  parked_ = false;
}

void VcpuLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

bool VcpuLoop::PinToHostCpus() {
  if (host_cpus_.empty()) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const int cpu : host_cpus_) CPU_SET(cpu, &set);
  const int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (err == 0) return true;
  stop_.Request({kExitVmmError,
                 fmt::format("vCPU {}: cannot run on host CPUs {} (--vcpu-cpus): {}", vcpu_.id(),
                             FormatCpuList(host_cpus_), ErrnoText(err)),
                 true});
  return false;
}

void VcpuLoop::Run() {
  // Whichever way the thread leaves, a Pause() waiting for it returns.
  struct MarkEnded {
    VcpuLoop& loop;
    ~MarkEnded() {
      std::lock_guard lock(loop.pause_mu_);
      loop.ended_ = true;
      loop.pause_cv_.notify_all();
    }
  } mark_ended{*this};
  if (on_thread_start_) on_thread_start_(vcpu_.id(), static_cast<uint32_t>(::gettid()));
  // Before the first KVM_RUN: the vCPU never enters the guest elsewhere.
  if (!PinToHostCpus()) return;
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, kKickSignal);
  pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  RestrictThisThread(ThreadKind::kVcpu);
  try {
    while (!stop_.requested()) {
      ParkWhilePaused();
      if (stop_.requested()) break;
      const int err = vcpu_.Run();
      // Any KVM_RUN first completes what the exit before it left pending.
      exit_pending_ = err == 0;
      if (err == EINTR || err == EAGAIN) {
        vcpu_.run()->immediate_exit = 0;
        continue;
      }
      if (err != 0) {
        stop_.Request({kExitVmmError,
                       fmt::format("KVM_RUN on vCPU {}: {}", vcpu_.id(), ErrnoText(err)), true});
        return;
      }
      exits_.fetch_add(1, std::memory_order_relaxed);
      if (!HandleExit()) return;
    }
  } catch (const std::exception& e) {
    stop_.Request({kExitVmmError, fmt::format("vCPU {}: {}", vcpu_.id(), e.what()), true});
  }
}

bool VcpuLoop::HandleExit() {
  kvm_run* run = vcpu_.run();
  switch (run->exit_reason) {
    case KVM_EXIT_IO:
      HandleIo();
      return true;
    case KVM_EXIT_MMIO:
      HandleMmio();
      return true;
    case KVM_EXIT_INTR:
    case KVM_EXIT_HLT:  // only without an in-kernel LAPIC; resume
      return true;
    case KVM_EXIT_SHUTDOWN:
      stop_.Request({kExitGuestCrash, Crash("guest triple fault (KVM_EXIT_SHUTDOWN)"), true});
      return false;
    case KVM_EXIT_SYSTEM_EVENT:
      if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
        stop_.Request({0, fmt::format("vCPU {}: guest powered off", vcpu_.id()), false});
      } else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
        stop_.Request({0,
                       fmt::format("vCPU {}: guest asked for a reset; stopping (ssivm does "
                                   "not reboot guests)",
                                   vcpu_.id()),
                       false});
      } else {
        stop_.Request(
            {kExitGuestCrash, Crash(fmt::format("system event {}", run->system_event.type)), true});
      }
      return false;
    case KVM_EXIT_INTERNAL_ERROR:
      stop_.Request({kExitGuestCrash,
                     Crash(fmt::format("KVM internal error, suberror {}", run->internal.suberror)),
                     true});
      return false;
    case KVM_EXIT_FAIL_ENTRY:
      stop_.Request({kExitGuestCrash,
                     Crash(fmt::format("VM entry failed, hardware reason {:#x}",
                                       run->fail_entry.hardware_entry_failure_reason)),
                     true});
      return false;
    default:
      stop_.Request({kExitGuestCrash,
                     Crash(fmt::format("unexpected KVM exit reason {}", run->exit_reason)), true});
      return false;
  }
}

void VcpuLoop::HandleIo() {
  kvm_run* run = vcpu_.run();
  auto* data = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
  const bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
  // String I/O (rep outsb/insb) arrives as `count` consecutive items.
  for (uint32_t i = 0; i < run->io.count; ++i) {
    if (!bus_.Dispatch(is_write, run->io.port, run->io.size,
                       data + static_cast<size_t>(i) * run->io.size, vcpu_.id()) &&
        bus_.FirstUnhandled(run->io.port)) {
      spdlog::debug("vCPU {}: {} of unhandled I/O port {:#x}", vcpu_.id(),
                    is_write ? "write" : "read", run->io.port);
    }
  }
}

void VcpuLoop::HandleMmio() {
  kvm_run* run = vcpu_.run();
  // No MMIO devices in user space yet: reads float high, writes are dropped.
  if (!run->mmio.is_write) std::memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
  spdlog::debug("vCPU {}: unhandled MMIO {} at {:#x}", vcpu_.id(),
                run->mmio.is_write ? "write" : "read", run->mmio.phys_addr);
}

std::string VcpuLoop::Crash(std::string_view what) {
  std::string regs;
  try {
    const kvm_regs r = vcpu_.GetRegs();
    const kvm_sregs s = vcpu_.GetSregs();
    regs = fmt::format(
        "rip={:#x} rsp={:#x} rflags={:#x} rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} "
        "rdi={:#x} cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x} cs={:#x}",
        r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, s.cr0, s.cr2, s.cr3,
        s.cr4, s.efer, s.cs.selector);
  } catch (const Error& e) {
    regs = fmt::format("(registers unavailable: {})", e.what());
  }
  return fmt::format("vCPU {}: {}; {}", vcpu_.id(), what, regs);
}

}  // namespace ssivm

#include "hypervisor/node/machine.h"

#include <poll.h>
#include <csignal>
#include <sys/signalfd.h>
#include <ctime>

#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/file.h"
#include "common/mapping.h"
#include "common/unique_fd.h"
#include "guest/abi/boot_info.h"
#include "guest/abi/pv_devices.h"
#include "hypervisor/devices/boot_progress.h"
#include "hypervisor/devices/debug_exit.h"
#include "hypervisor/devices/io_bus.h"
#include "hypervisor/devices/pv_ipi.h"
#include "hypervisor/devices/uart16550.h"
#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/kvm/kvm_vm.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/node/vcpu_loop.h"
#include "hypervisor/node/vm_stop.h"
#include "hypervisor/x86/cpu_setup.h"
#include "hypervisor/x86/descriptors.h"
#include "hypervisor/x86/kernel_loader.h"
#include "hypervisor/x86/layout.h"
#include "hypervisor/x86/page_tables.h"

namespace ssivm {
namespace {

constexpr uint64_t kMaxKernelBytes = 256ull << 20;

// MemAvailable from /proc/meminfo, in MiB; nullopt if unknown.
std::optional<uint64_t> AvailableMiB() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib >> 10;
  }
  return std::nullopt;
}

void CheckHostMemory(uint64_t memory_mib) {
  const auto avail = AvailableMiB();
  if (avail && memory_mib > *avail) {
    throw Error(
        fmt::format("not enough host memory: the guest wants {} MiB, this host has {} MiB "
                    "available; use a smaller --memory",
                    memory_mib, *avail));
  }
}

void RequireCapabilities(const KvmSystem& sys, uint32_t vcpus) {
  sys.Require(KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY");
  sys.Require(KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP");
  sys.Require(KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT");
  sys.Require(KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE");
  sys.Require(KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID");
  const int max = sys.MaxVcpus();
  if (max > 0 && vcpus > static_cast<uint32_t>(max)) {
    throw Error(
        fmt::format("{} vCPUs requested, but KVM on this host allows at most {}", vcpus, max));
  }
}

// Guest RAM: one anonymous mapping; the part above 3 GiB appears at 4 GiB.
struct GuestRam {
  Mapping mapping;
  GuestMemory memory;
};

GuestRam AllocateRam(const GuestLayout& layout) {
  GuestRam ram;
  ram.mapping = Mapping::Anonymous(layout.memory_bytes, "guest RAM");
  std::vector<GuestMemory::Region> regions;
  uint64_t offset = 0;
  for (const RamRange& r : layout.ram) {
    regions.push_back({r.gpa, r.size, ram.mapping.data() + offset});
    offset += r.size;
  }
  ram.memory = GuestMemory(std::move(regions));
  return ram;
}

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Blocks the signals the main thread waits for; vCPU and console threads
// inherit the mask.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) ThrowErrno("pthread_sigmask");
  return set;
}

// Waits until the VM stops or a stop signal arrives.
void WaitForStop(VmStop& stop, const sigset_t& signals) {
  UniqueFd sfd(::signalfd(-1, &signals, SFD_CLOEXEC));
  if (!sfd.valid()) ThrowErrno("signalfd");
  while (!stop.requested()) {
    pollfd fds[2] = {{stop.event_fd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("poll for VM stop");
    }
    if (fds[1].revents) {
      signalfd_siginfo si{};
      if (::read(sfd.get(), &si, sizeof(si)) == sizeof(si)) {
        const int sig = static_cast<int>(si.ssi_signo);
        stop.Request({128 + sig, fmt::format("stopped by signal {}", strsignal(sig)), false});
      }
    }
  }
}

}  // namespace

MachineResult RunMachine(const MachineConfig& cfg, std::chrono::steady_clock::time_point start) {
  const HostKind kind = cfg.host_kind ? *cfg.host_kind : DetectHostKind();
  const GuestLayout layout = GuestLayout::Compute(cfg.memory_mib, cfg.vcpus);
  spdlog::info("host KVM kind: {}; guest: {} vCPUs, {} MiB", HostKindName(kind), cfg.vcpus,
               cfg.memory_mib);

  KvmSystem sys = KvmSystem::Open(cfg.kvm_path);
  RequireCapabilities(sys, cfg.vcpus);
  CheckHostMemory(cfg.memory_mib);

  // Load everything into guest RAM before any vCPU exists: a bad image fails
  // here, before the guest runs.
  const std::vector<uint8_t> kernel_image = ReadFileBytes(cfg.kernel_path, kMaxKernelBytes);
  std::vector<uint8_t> initrd;
  if (!cfg.initrd_path.empty()) initrd = ReadFileBytes(cfg.initrd_path, layout.memory_bytes);
  GuestRam ram = AllocateRam(layout);
  const GuestMemory& mem = ram.memory;
  const LoadedKernel kernel = LoadKernel(kernel_image, cfg.kernel_path, mem, layout);
  BootConfig boot;
  boot.kernel_name = cfg.kernel_path;
  boot.cmdline = cfg.cmdline;
  boot.initrd = initrd;
  boot.initrd_name = cfg.initrd_path;
  boot.host_kind = kind;
  const uint64_t boot_params = WriteBootInfo(mem, layout, kernel, boot,
                                             kernel.setup_header ? &*kernel.setup_header : nullptr);

  PageTableOptions pt{};
  pt.tables_gpa = abi::kPageTablesGpa;
  pt.tables_max = abi::kPageTablesMaxSize;
  pt.map_end = layout.identity_map_end();
  pt.uncached_base = abi::kMmioHoleBase;
  pt.uncached_end = abi::kMmioHoleEnd;
  pt.user_accessible = kind == HostKind::kPvm;
  const uint64_t cr3 = BuildIdentityPageTables(mem, pt);
  const uint16_t gdt_limit = BuildGdt(mem, abi::kGdtGpa, cfg.vcpus);
  mem.Fill(abi::kIdtGpa, abi::kIdtSize, 0);
  for (uint32_t v = 0; v < cfg.vcpus; ++v) BuildTss(mem, v);

  KvmVm vm(sys);
  vm.CreateIrqchip();
  uint32_t slot = 0;
  for (const GuestMemory::Region& r : mem.regions())
    vm.SetMemorySlot(slot++, r.gpa, r.size, r.host);

  VmStop stop;
  std::unique_ptr<Console> console = MakeConsole(cfg.console);
  Uart16550 uart([&console](std::span<const uint8_t> bytes) { console->Output(bytes); },
                 [&vm](bool level) { vm.IrqLine(abi::kCom1Irq, level); });
  DebugExit debug_exit([&stop](uint32_t status) {
    stop.Request({static_cast<int>(status & 0xff),
                  status == 0 ? "" : fmt::format("guest exited with status {}", status), false});
  });
  BootProgress progress(start, [](const BootMilestone& m) {
    spdlog::info("boot +{:.3f} ms vcpu {} {} (monotonic_ns {})",
                 std::chrono::duration<double, std::milli>(m.since_start).count(), m.vcpu,
                 m.name ? m.name : fmt::format("milestone-{}", m.milestone), m.monotonic_ns);
  });
  PvIpi ipi(cfg.vcpus, [&vm](uint32_t target, uint8_t vector) {
    // Fixed delivery, physical destination = the target's APIC id (its index).
    vm.SignalMsi(abi::kLapicGpa | (static_cast<uint64_t>(target) << 12), vector);
  });
  IoBus bus;
  bus.Register(abi::kCom1Port, abi::kCom1PortCount, "com1", &uart);
  bus.Register(abi::kDebugExitPort, 4, "debug-exit", &debug_exit);
  bus.Register(abi::kBootProgressPort, 4, "boot-progress", &progress);
  bus.Register(abi::kPvIpiPort, 4, "pv-ipi", &ipi);

  const std::vector<kvm_cpuid_entry2> cpuid = sys.SupportedCpuid();
  std::vector<std::unique_ptr<KvmVcpu>> vcpus;
  for (uint32_t v = 0; v < cfg.vcpus; ++v) {
    auto vcpu = std::make_unique<KvmVcpu>(vm, v);
    vcpu->SetCpuid(CpuidForVcpu(cpuid, v));
    const BootCpuState st{v, kernel.entry, cr3, gdt_limit, boot_params};
    vcpu->SetSregs(LongModeSregs(vcpu->GetSregs(), st));
    vcpu->SetRegs(LongModeRegs(st));
    // APs start directly at the entry too, not in wait-for-SIPI.
    if (v != 0) vcpu->SetMpState(KVM_MP_STATE_RUNNABLE);
    if (kind == HostKind::kPvm) {
      const auto sig = vcpu->GetMsr(abi::kMsrPvmSignature);
      if (!sig || *sig != abi::kPvmSignature) {
        throw Error(fmt::format(
            "this host has no VMX/SVM, but {} is not PVM KVM either (MSR {:#x} "
            "reads {}); ssivm cannot run guests here",
            cfg.kvm_path, abi::kMsrPvmSignature, sig ? fmt::format("{:#x}", *sig) : "nothing"));
      }
      // Registering the vIF cell switches the vCPU to native execution.
      vcpu->SetMsrs(
          {{abi::kMsrPvmVif, (abi::VcpuSlotGpa(v) + abi::kSlotVifCell) | abi::kPvmVifRestore}});
    }
    vcpus.push_back(std::move(vcpu));
  }

  const sigset_t stop_signals = BlockStopSignals();
  InstallVcpuKickSignal();
  std::vector<std::unique_ptr<VcpuLoop>> loops;
  loops.reserve(vcpus.size());
  for (auto& vcpu : vcpus) loops.push_back(std::make_unique<VcpuLoop>(*vcpu, bus, stop));
  console->Start(uart, stop);
  spdlog::info(
      "vm ready after {:.3f} ms (monotonic_ns {}); starting {} vCPUs",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(),
      MonotonicNs(), cfg.vcpus);
  for (auto& loop : loops) loop->Start();

  WaitForStop(stop, stop_signals);
  for (auto& loop : loops) loop->Kick();
  uint64_t exits = 0;
  for (auto& loop : loops) {
    loop->Join();
    exits += loop->exits();
  }
  uart.Shutdown();
  console->Stop();
  const StopReason reason = *stop.reason();
  return {reason.status, reason.message, reason.error, exits};
}

}  // namespace ssivm

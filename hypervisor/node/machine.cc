#include "hypervisor/node/machine.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <csignal>
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
#include "dsm/coherence/home_map.h"
#include "guest/abi/boot_info.h"
#include "guest/abi/pv_devices.h"
#include "hypervisor/devices/acpi_pm.h"
#include "hypervisor/devices/boot_progress.h"
#include "hypervisor/devices/cmos_rtc.h"
#include "hypervisor/devices/debug_exit.h"
#include "hypervisor/devices/idle_port.h"
#include "hypervisor/devices/io_bus.h"
#include "hypervisor/devices/pv_info.h"
#include "hypervisor/devices/pv_ipi.h"
#include "hypervisor/devices/uart16550.h"
#include "hypervisor/kvm/kvm_interrupts.h"
#include "hypervisor/kvm/kvm_stats.h"
#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/kvm/kvm_vm.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/node/cluster_runtime.h"
#include "hypervisor/node/control_server.h"
#include "hypervisor/node/cpu_list.h"
#include "hypervisor/node/vcpu_loop.h"
#include "hypervisor/node/vm_stop.h"
#include "hypervisor/x86/acpi.h"
#include "hypervisor/x86/cpu_setup.h"
#include "hypervisor/x86/descriptors.h"
#include "hypervisor/x86/kernel_loader.h"
#include "hypervisor/x86/layout.h"
#include "hypervisor/x86/page_tables.h"

namespace ssivm {
namespace {

constexpr uint64_t kMaxKernelBytes = 256ull << 20;
// VMX real-mode helpers (hardware KVM): in the MMIO hole, below the IOAPIC.
constexpr uint64_t kIdentityMapPageGpa = 0xfeffc000;
constexpr uint64_t kRealModeTssGpa = 0xfeffd000;
constexpr uint16_t kAcpiPmPort = 0x600;

// ACPI tables in the boot region; returns the RSDP's address.
uint64_t WriteAcpiTables(const GuestMemory& mem, uint32_t vcpus) {
  AcpiConfig acpi;
  acpi.vcpus = vcpus;
  acpi.lapic_gpa = abi::kLapicGpa;
  acpi.ioapic_gpa = abi::kIoApicGpa;
  acpi.pm1a_evt_port = kAcpiPmPort;
  acpi.pm1a_cnt_port = kAcpiPmPort + 4;
  acpi.reset_port = ResetPort::kPort;
  acpi.rtc_century_index = kCmosCenturyIndex;
  const AcpiTables tables = BuildAcpiTables(acpi);
  mem.Write(tables.base_gpa, tables.bytes);
  return tables.rsdp_gpa;
}

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
// Its start is 2 MiB aligned so that, on hardware KVM, transparent huge pages
// back whole 2 MiB guest frames (nested paging then uses large pages: a Linux
// boot is much faster).
struct GuestRam {
  Mapping mapping;
  GuestMemory memory;
};

// Huge pages on hardware KVM, where userfaultfd does not page the RAM in
// 4 KiB units. Where it does (`dsm`: a cluster node), none even if the
// host's THP is "always": a write before the fault engine starts (loading
// the guest) would fault in a 2 MiB page, making pages resident here that
// another node is home of.
GuestRam AllocateRam(const GuestLayout& layout, bool hardware, bool dsm) {
  constexpr uint64_t kAlign = abi::kLargePageSize;
  GuestRam ram;
  ram.mapping = Mapping::Anonymous(layout.memory_bytes + kAlign, "guest RAM");
  const uintptr_t raw = reinterpret_cast<uintptr_t>(ram.mapping.data());
  uint8_t* base = ram.mapping.data() + ((kAlign - raw % kAlign) % kAlign);
  // Fails (EINVAL) only on a kernel without THP, where neither matters.
  const bool huge = hardware && !dsm;
  if ((huge || dsm) &&
      ::madvise(base, layout.memory_bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0) {
    spdlog::debug("madvise of guest RAM: {}", ErrnoText(errno));
  }
  std::vector<GuestMemory::Region> regions;
  uint64_t offset = 0;
  for (const RamRange& r : layout.ram) {
    regions.push_back({r.gpa, r.size, base + offset});
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

// What every node loads identically and keeps a copy of when the DSM starts
// (shared, read-only until written): kernel text and the initrd, which can
// then lie in any node's home range.
std::vector<std::pair<uint64_t, uint64_t>> ReplicatedAtStart(const GuestMemory& mem,
                                                             const LoadedKernel& kernel,
                                                             uint64_t boot_params_gpa) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const RamRange& r : kernel.read_only) out.emplace_back(r.gpa, r.size);
  const auto bp = mem.ReadObject<abi::BootParams>(boot_params_gpa);
  const uint64_t start = abi::InitrdBase(bp);
  const uint64_t size = abi::InitrdSize(bp);
  if (size > 0) {
    const uint64_t first = start & ~(abi::kPageSize - 1);
    const uint64_t end = (start + size + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
    out.emplace_back(first, end - first);
  }
  return out;
}

// Everything that needs no KVM, done before KVM is touched: the guest RAM
// with the kernel, initrd, boot info and the node-private structures in it.
// A bad image, command line or size fails here.
struct PreparedGuest {
  GuestLayout layout;
  GuestRam ram;
  LoadedKernel kernel;
  uint64_t boot_params = 0;
  uint64_t cr3 = 0;
  uint16_t gdt_limit = 0;
};

PreparedGuest PrepareGuest(const MachineConfig& cfg, HostKind kind) {
  const ClusterRole* role = cfg.cluster ? &*cfg.cluster : nullptr;
  PreparedGuest g{GuestLayout::Compute(cfg.memory_mib, cfg.vcpus), {}, {}, 0, 0, 0};
  CheckHostMemory(cfg.memory_mib);
  const std::vector<uint8_t> kernel_image = ReadFileBytes(cfg.kernel_path, kMaxKernelBytes);
  std::vector<uint8_t> initrd;
  if (!cfg.initrd_path.empty()) initrd = ReadFileBytes(cfg.initrd_path, g.layout.memory_bytes);
  g.ram = AllocateRam(g.layout, kind == HostKind::kHardware, role != nullptr);
  const GuestMemory& mem = g.ram.memory;
  g.kernel = LoadKernel(kernel_image, cfg.kernel_path, mem, g.layout);
  BootConfig boot;
  boot.kernel_name = cfg.kernel_path;
  boot.cmdline = cfg.cmdline;
  boot.initrd = initrd;
  boot.initrd_name = cfg.initrd_path;
  boot.host_kind = kind;
  boot.acpi_rsdp_gpa = WriteAcpiTables(mem, cfg.vcpus);
  g.boot_params = WriteBootInfo(mem, g.layout, g.kernel, boot,
                                g.kernel.setup_header ? &*g.kernel.setup_header : nullptr);
  if (role) ApplyClusterToBootInfo(mem, *role, HomesOf(*role, mem));

  PageTableOptions pt{};
  pt.tables_gpa = abi::kPageTablesGpa;
  pt.tables_max = abi::kPageTablesMaxSize;
  pt.map_end = g.layout.identity_map_end();
  pt.uncached_base = abi::kMmioHoleBase;
  pt.uncached_end = abi::kMmioHoleEnd;
  pt.user_accessible = kind == HostKind::kPvm;
  g.cr3 = BuildIdentityPageTables(mem, pt);
  g.gdt_limit = BuildGdt(mem, abi::kGdtGpa, cfg.vcpus);
  mem.Fill(abi::kIdtGpa, abi::kIdtSize, 0);
  for (uint32_t v = 0; v < cfg.vcpus; ++v) BuildTss(mem, v);
  return g;
}

}  // namespace

GuestCheck ValidateGuest(const MachineConfig& cfg) {
  const PreparedGuest g = PrepareGuest(cfg, cfg.host_kind ? *cfg.host_kind : HostKind::kHardware);
  return {g.kernel.format == LoadedKernel::Format::kBzImage};
}

MachineResult RunMachine(const MachineConfig& cfg, std::chrono::steady_clock::time_point start) {
  const HostKind kind = cfg.host_kind ? *cfg.host_kind : DetectHostKind();
  spdlog::info("host KVM kind: {}; guest: {} vCPUs, {} MiB", HostKindName(kind), cfg.vcpus,
               cfg.memory_mib);
  const ClusterRole* role = cfg.cluster ? &*cfg.cluster : nullptr;
  // The guest is ready in RAM before KVM is opened: a bad image fails
  // first, and before any vCPU exists.
  PreparedGuest guest = PrepareGuest(cfg, kind);
  const GuestMemory& mem = guest.ram.memory;
  const LoadedKernel& kernel = guest.kernel;
  const uint64_t boot_params = guest.boot_params;

  KvmSystem sys = KvmSystem::Open(cfg.kvm_path);
  RequireCapabilities(sys, cfg.vcpus);
  KvmVm vm(sys);
  vm.CreateIrqchip();
  // Under the DSM a guest read of a missing page must reach userfaultfd as a
  // read, so that pages can be shared read-only: KVM's async page faults
  // would fault every page in for writing.
  const bool dsm_pages_ram = role != nullptr;
  const bool hlt_in_guest = dsm_pages_ram && vm.DisableAsyncPageFaults();
  if (dsm_pages_ram && !hlt_in_guest) {
    spdlog::warn(
        "KVM does not let HLT run in the guest (kvm.mitigate_smt_rsb?): its async page faults "
        "stay on, so the DSM sees guest reads as writes and cannot share pages read-only");
  }
  // A HLT no longer exits, so an idle vCPU would spin in guest mode: the
  // ssivm guest halts through the idle port instead (a Linux guest cannot).
  if (hlt_in_guest) SetBootFeatures(mem, abi::kFeatureIdlePort);
  if (kind == HostKind::kHardware) {
    vm.CreatePit();
    vm.SetRealModeAreas(kRealModeTssGpa, kIdentityMapPageGpa);
  }
  KvmInterrupts irq(vm);
  uint32_t slot = 0;
  for (const GuestMemory::Region& r : mem.regions())
    vm.SetMemorySlot(slot++, r.gpa, r.size, r.host);

  VmStop stop;
  // Fixed delivery, physical destination = the vCPU's APIC id (its index).
  const auto interrupt_vcpu = [&irq](uint32_t vcpu, uint8_t vector) {
    irq.SendMsi(abi::kLapicGpa | (static_cast<uint64_t>(vcpu) << 12), vector);
  };
  // Joins the other nodes (blocks until all of them are there).
  std::unique_ptr<ClusterRuntime> cluster;
  if (role) cluster = std::make_unique<ClusterRuntime>(*role, mem, stop, interrupt_vcpu);
  std::unique_ptr<Console> console = MakeConsole(cfg.console);
  Uart16550 uart([&console](std::span<const uint8_t> bytes) { console->Output(bytes); },
                 [&irq](bool level) { irq.SetIrqLine(abi::kCom1Irq, level); });
  DebugExit debug_exit([&stop](uint32_t status) {
    stop.Request({static_cast<int>(status & 0xff),
                  status == 0 ? "" : fmt::format("guest exited with status {}", status), false});
  });
  BootProgress progress(start, [](const BootMilestone& m) {
    spdlog::info("boot +{:.3f} ms vcpu {} {} (monotonic_ns {})",
                 std::chrono::duration<double, std::milli>(m.since_start).count(), m.vcpu,
                 m.name ? m.name : fmt::format("milestone-{}", m.milestone), m.monotonic_ns);
  });
  PvIpi ipi(cfg.vcpus, [&interrupt_vcpu, &cluster](uint32_t target, uint8_t vector) {
    if (cluster) return cluster->link().SendInterrupt(target, vector);
    interrupt_vcpu(target, vector);
  });
  // This node's vCPUs by index, filled once they exist (before any runs).
  std::vector<KvmVcpu*> local_vcpus(cfg.vcpus, nullptr);
  // Runs on the writing vCPU's own thread, between two KVM_RUNs: the next
  // KVM_RUN completes the OUT and then sleeps in KVM until an interrupt is
  // pending (or returns at once if one already is), as after a HLT exit.
  IdlePort idle([&local_vcpus](uint32_t vcpu) {
    if (vcpu < local_vcpus.size() && local_vcpus[vcpu] != nullptr) {
      local_vcpus[vcpu]->SetMpState(KVM_MP_STATE_HALTED);
    }
  });
  CmosRtc rtc;
  AcpiPm acpi_pm([&stop](uint8_t sleep_type) {
    if (sleep_type == kAcpiS5SleepType) {
      stop.Request({0, "guest powered off (ACPI S5)", false});
    } else {
      spdlog::warn("guest asked for ACPI sleep type {}, which ssivm does not offer; ignored",
                   sleep_type);
    }
  });
  ResetPort reset([&stop] {
    stop.Request({kExitGuestReboot,
                  fmt::format("guest asked for a reboot (reset register {:#x}); ssivm does not "
                              "reboot guests: exit status {}",
                              ResetPort::kPort, kExitGuestReboot),
                  false});
  });
  // Filled in once the vCPU loops exist; the guest can only ask after that.
  std::function<uint64_t()> vcpu_exits = [] { return uint64_t{0}; };
  PvInfo info([&](uint32_t key) -> std::optional<uint64_t> {
    switch (key) {
      case abi::kInfoNodeId:
        return role ? role->self : 0;
      case abi::kInfoNodeCount:
        return role ? role->node_count : 1;
      case abi::kInfoVcpuExits:
        return vcpu_exits();
      default:
        break;
    }
    // A DSM counter: one snapshot (it takes the fault engine's lock).
    const dsm::DsmStats st = cluster ? cluster->stats() : dsm::DsmStats{};
    switch (key) {
      case abi::kInfoReadFaults:
        return st.read_faults;
      case abi::kInfoWriteFaults:
        return st.write_faults;
      case abi::kInfoPagesSent:
        return st.pages_sent;
      case abi::kInfoPagesReceived:
        return st.pages_received;
      case abi::kInfoZeroFills:
        return st.zero_fills;
      case abi::kInfoInvalidations:
        return st.invalidations;
      case abi::kInfoMessages:
        return st.messages_handled;
      default:
        return std::nullopt;
    }
  });
  IoBus bus;
  // The console and the guest's PV devices live on node 0; other nodes
  // forward their ports there.
  if (cluster && !role->device_node()) {
    cluster->ForwardDevices(bus);
  } else {
    bus.Register(abi::kCom1Port, abi::kCom1PortCount, "com1", &uart);
    bus.Register(abi::kDebugExitPort, 4, "debug-exit", &debug_exit);
    bus.Register(abi::kBootProgressPort, 4, "boot-progress", &progress);
    if (cluster) cluster->ServeDevices(bus);
  }
  bus.Register(abi::kPvIpiPort, 4, "pv-ipi", &ipi);
  bus.Register(abi::kIdlePort, 1, "idle", &idle);  // on every node: it halts a local vCPU
  bus.Register(abi::kPvInfoPort, abi::kPvInfoPortCount, "pv-info", &info);
  bus.Register(kCmosPort, kCmosPortCount, "cmos-rtc", &rtc);
  bus.Register(kAcpiPmPort, AcpiPm::kPortCount, "acpi-pm", &acpi_pm);
  bus.Register(ResetPort::kPort, 1, "reset", &reset);

  const std::vector<kvm_cpuid_entry2> cpuid = sys.SupportedCpuid();
  std::vector<std::unique_ptr<KvmVcpu>> vcpus;
  for (uint32_t v = 0; v < cfg.vcpus; ++v) {
    if (role && !role->runs(v)) continue;  // another node runs it
    auto vcpu = std::make_unique<KvmVcpu>(vm, v);
    vcpu->SetCpuid(CpuidForVcpu(cpuid, v, vcpu->TscKhz(), !dsm_pages_ram));
    // The ssivm kernel (ELF) starts every vCPU at its entry. Linux starts its
    // APs itself (INIT/SIPI through the LAPIC, found in the ACPI MADT), so
    // for a bzImage the APs stay in KVM's wait-for-SIPI state.
    const bool starts_at_entry = v == 0 || kernel.format == LoadedKernel::Format::kElf;
    if (starts_at_entry) {
      const BootCpuState st{v, kernel.entry, guest.cr3, guest.gdt_limit, boot_params};
      vcpu->SetSregs(LongModeSregs(vcpu->GetSregs(), st));
      vcpu->SetRegs(LongModeRegs(st));
      if (v != 0) vcpu->SetMpState(KVM_MP_STATE_RUNNABLE);
    }
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
    local_vcpus[v] = vcpu.get();
    vcpus.push_back(std::move(vcpu));
  }
  // KVM's accounting per vCPU, for `status` (none before Linux 5.14).
  std::vector<std::optional<KvmStats>> vcpu_stats;
  for (const auto& vcpu : vcpus) vcpu_stats.push_back(KvmStats::Open(vcpu->fd()));

  const sigset_t stop_signals = BlockStopSignals();
  InstallVcpuKickSignal();
  std::vector<std::unique_ptr<VcpuLoop>> loops;
  loops.reserve(vcpus.size());
  for (auto& vcpu : vcpus) {
    loops.push_back(std::make_unique<VcpuLoop>(*vcpu, bus, stop, cfg.vcpu_cpus));
  }
  vcpu_exits = [&loops] {
    uint64_t n = 0;
    for (const auto& loop : loops) n += loop->exits();
    return n;
  };
  console->Start(uart, stop);
  if (cluster) {
    cluster->StartDsm(mem, ReplicatedAtStart(mem, kernel, boot_params));
  }
  spdlog::info(
      "vm ready after {:.3f} ms (monotonic_ns {}); starting {} vCPUs",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(),
      MonotonicNs(), vcpus.size());
  if (!cfg.vcpu_cpus.empty()) {
    spdlog::info("vCPU threads run on host CPUs {}", FormatCpuList(cfg.vcpu_cpus));
  }
  std::unique_ptr<ControlServer> control;
  if (!cfg.control_path.empty()) {
    ControlHandlers handlers;
    handlers.status = [&] {
      nlohmann::json j;
      j["node"] = role ? role->self : 0;
      j["nodes"] = role ? role->node_count : 1;
      if (role) j["epoch"] = role->epoch;
      j["host_kind"] = HostKindName(kind);
      j["memory_mib"] = cfg.memory_mib;
      nlohmann::json v = nlohmann::json::array();
      for (const auto& vcpu : vcpus) v.push_back(vcpu->id());
      j["vcpus"] = v;
      // How long each vCPU slept halted (KVM's halt_wait_ns): an idle vCPU
      // whose thread spins in guest mode instead adds nothing.
      nlohmann::json halted = nlohmann::json::array();
      for (const auto& st : vcpu_stats) {
        if (const auto ns = st ? st->Read("halt_wait_ns") : std::nullopt) halted.push_back(*ns);
      }
      if (halted.size() == vcpu_stats.size()) j["vcpu_halted_ns"] = halted;
      j["vcpus_total"] = cfg.vcpus;
      j["exits"] = vcpu_exits();
      j["uptime_s"] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (cluster) {
        const dsm::DsmStats st = cluster->stats();
        j["dsm"] = {{"read_faults", st.read_faults},   {"write_faults", st.write_faults},
                    {"pages_sent", st.pages_sent},     {"pages_received", st.pages_received},
                    {"zero_fills", st.zero_fills},     {"invalidations", st.invalidations},
                    {"messages", st.messages_handled}, {"fault_latency", dsm::FormatLatency(st)}};
      }
      return j;
    };
    handlers.stop = [&stop] { stop.Request({0, "stopped by ssictl down", false}); };
    control = std::make_unique<ControlServer>(cfg.control_path, std::move(handlers));
  }

  for (auto& loop : loops) loop->Start();

  WaitForStop(stop, stop_signals);
  control.reset();
  for (auto& loop : loops) loop->Kick();
  if (cluster) {
    // Tell the other nodes, and release vCPU threads waiting for a page or
    // for a forwarded port access.
    cluster->Stop(stop.reason()->status);
    const dsm::DsmStats st = cluster->stats();
    spdlog::info(
        "dsm: {} read faults, {} write faults, {} pages sent, {} received, {} zero-filled, {} "
        "invalidated, {} messages",
        st.read_faults, st.write_faults, st.pages_sent, st.pages_received, st.zero_fills,
        st.invalidations, st.messages_handled);
    spdlog::info("dsm: fault latency {}", dsm::FormatLatency(st));
    std::string hot;
    for (const auto& [page, n] : cluster->final_hottest_pages())
      hot += fmt::format(" {:#x}:{}", page << 12, n);
    if (!hot.empty()) spdlog::info("dsm: most faulted pages (address:faults):{}", hot);
  }
  for (auto& loop : loops) loop->Join();
  uart.Shutdown();
  console->Stop();
  const StopReason reason = *stop.reason();
  return {reason.status, reason.message, reason.error, vcpu_exits()};
}

}  // namespace ssivm

#include "hypervisor/node/machine.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <csignal>
#include <ctime>

#include <functional>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/exit_status.h"
#include "common/unique_fd.h"
#include "guest/abi/boot_info.h"
#include "guest/abi/pv_devices.h"
#include "hypervisor/devices/device_table.h"
#include "hypervisor/devices/io_bus.h"
#include "hypervisor/devices/node_devices.h"
#include "hypervisor/kvm/kvm_interrupts.h"
#include "hypervisor/kvm/kvm_stats.h"
#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/kvm/kvm_vm.h"
#include "hypervisor/node/cluster_runtime.h"
#include "hypervisor/node/control_server.h"
#include "hypervisor/node/cpu_list.h"
#include "hypervisor/node/dsm_counters.h"
#include "hypervisor/node/guest_image.h"
#include "hypervisor/node/migration_commands.h"
#include "hypervisor/node/placement_driver.h"
#include "hypervisor/node/vcpu_loop.h"
#include "hypervisor/node/vcpu_migrator.h"
#include "hypervisor/node/vm_stop.h"
#include "hypervisor/x86/acpi.h"
#include "hypervisor/x86/cpu_setup.h"
#include "hypervisor/x86/kernel_loader.h"

namespace ssivm {
namespace {

// VMX real-mode helpers (hardware KVM): in the MMIO hole, below the IOAPIC.
constexpr uint64_t kIdentityMapPageGpa = 0xfeffc000;
constexpr uint64_t kRealModeTssGpa = 0xfeffd000;

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

// Waits until the VM stops or a stop signal arrives. A hangup stops the VM
// only if it took the console away (`console_on_terminal`), as Ctrl-A x
// would; a VM whose console is a socket or nothing (a detached node, a
// guest left running when the admin's ssh session ends) goes on.
void WaitForStop(VmStop& stop, const sigset_t& signals, bool console_on_terminal) {
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
        if (sig == SIGHUP && console_on_terminal) {
          stop.Request(
              {kExitConsoleStop, "stopped: the console's terminal hung up (SIGHUP)", false});
        } else if (sig == SIGHUP) {
          spdlog::info(
              "SIGHUP ignored: the console is not a terminal, so none was lost; the VM goes on "
              "(stop it with ssictl down, or SIGTERM)");
        } else {
          stop.Request(
              {kExitSignalBase + sig, fmt::format("stopped by signal {}", strsignal(sig)), false});
        }
      }
    }
  }
}

ClusterRole SingleNode(const MachineConfig& cfg) {
  ClusterRole r;
  r.view = cluster::ClusterView::OneNode(cfg.vcpus, cfg.memory_mib << 20);
  return r;
}

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// One node's machine, built in named steps (each needs the ones before):
//   PrepareGuest   host checks, images and boot info in guest RAM (no KVM)
//   CreateVm       KVM, its capabilities, irqchip, memory slots
//   JoinCluster    a cluster node connects to its peers (blocks until all are)
//   CreateDevices  the device table, registered on the I/O bus
//   CreateVcpus    the vCPUs this node runs, set up to start the guest
//   Run            vCPU threads, console, DSM, control socket; wait; stop
// Members are declared in the order they are built, so they are torn down
// in reverse: nothing outlives what it uses.
class Machine {
 public:
  Machine(const MachineConfig& cfg, std::chrono::steady_clock::time_point start)
      : cfg_(cfg),
        start_(start),
        kind_(cfg.host_kind ? *cfg.host_kind : DetectHostKind()),
        dsm_(cfg.cluster.has_value()),
        role_(dsm_ ? *cfg.cluster : SingleNode(cfg)) {}

  // On an error before Run stopped it: the peers learn, and no forwarded
  // device access outlives the devices (declared after the cluster).
  ~Machine() {
    if (cluster_) cluster_->Stop(stop_.reason() ? stop_.reason()->status : kExitVmmError);
  }
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  MachineResult Build() {
    // Before any thread exists (the cluster's, the device server's, the
    // vCPUs'): every thread inherits the mask, so a stop signal reaches only
    // WaitForStop's signalfd, never a thread whose default action would end
    // the process without a word.
    stop_signals_ = BlockStopSignals();
    spdlog::info("host KVM kind: {}; guest: {} vCPUs, {} MiB", HostKindName(kind_), cfg_.vcpus,
                 cfg_.memory_mib);
    PrepareGuest();
    CreateVm();
    JoinCluster();
    CreateDevices();
    CreateVcpus();
    return Run();
  }

 private:
  void PrepareGuest();
  void CreateVm();
  void JoinCluster();
  void CreateDevices();
  NodeDeviceHooks DeviceHooks();
  void CreateVcpus();
  MachineResult Run();
  void StartControlSocket();
  void CreateMigrator();
  nlohmann::json Status() const;
  void ReportDsm() const;
  uint64_t VcpuExits() const;
  // The guest RAM this node is home of, in MiB.
  uint64_t HomeMib() const { return role_.view.Find(role_.self)->memory_bytes >> 20; }
  const GuestMemory& mem() const { return guest_.ram.memory; }
  // Fixed delivery, physical destination = the vCPU's APIC id (its index).
  void InterruptLocalVcpu(uint32_t vcpu, uint8_t vector) {
    irq_->SendMsi(abi::kLapicGpa | (static_cast<uint64_t>(vcpu) << 12), vector);
  }

  const MachineConfig& cfg_;
  const std::chrono::steady_clock::time_point start_;
  const HostKind kind_;
  sigset_t stop_signals_{};
  // Paged by the DSM: a node started from a cluster manifest.
  const bool dsm_;
  // A single node is the one node of a 1-node cluster: node 0, every vCPU.
  const ClusterRole role_;
  PreparedGuest guest_;
  std::optional<KvmSystem> sys_;
  std::optional<KvmVm> vm_;
  std::optional<KvmInterrupts> irq_;
  VmStop stop_;
  std::unique_ptr<ClusterRuntime> cluster_;
  std::unique_ptr<Console> console_;
  std::unique_ptr<NodeDevices> devices_;
  IoBus bus_;
  IoBus served_bus_;  // the device node's devices that peers forward to, alone
  // Every vCPU of the guest, index = vCPU (parked where another node runs it).
  std::vector<std::unique_ptr<KvmVcpu>> vcpus_;
  // KVM's accounting per vCPU, for `status` (none before Linux 5.14).
  std::vector<std::optional<KvmStats>> vcpu_stats_;
  // Index = vCPU: one for every vCPU; parked where another node runs it.
  std::vector<std::unique_ptr<VcpuLoop>> loops_;
  std::unique_ptr<VcpuMigrator> migrator_;      // a cluster of more than one node
  std::unique_ptr<PlacementDriver> placement_;  // with the migrator
  std::unique_ptr<ControlServer> control_;
};

// The guest is ready in RAM before KVM is opened: a bad image fails first,
// and before any vCPU exists.
void Machine::PrepareGuest() {
  guest_ = ssivm::PrepareGuest(cfg_, kind_);
}

void Machine::CreateVm() {
  sys_.emplace(KvmSystem::Open(cfg_.kvm_path));
  RequireCapabilities(*sys_, cfg_.vcpus);
  vm_.emplace(*sys_);
  vm_->CreateIrqchip();
  // Under the DSM a guest read of a missing page must reach userfaultfd as a
  // read, so that pages can be shared read-only: KVM's async page faults
  // would fault every page in for writing.
  const bool hlt_in_guest = dsm_ && vm_->DisableAsyncPageFaults();
  if (dsm_ && !hlt_in_guest) {
    spdlog::warn(
        "KVM does not let HLT run in the guest (kvm.mitigate_smt_rsb?): its async page faults "
        "stay on, so the DSM sees guest reads as writes and cannot share pages read-only");
  }
  // A HLT no longer exits, so an idle vCPU would spin in guest mode: the
  // ssivm guest halts through the idle port instead (a Linux guest cannot).
  if (hlt_in_guest) SetBootFeatures(mem(), abi::kFeatureIdlePort);
  if (kind_ == HostKind::kHardware) {
    vm_->CreatePit();
    vm_->SetRealModeAreas(kRealModeTssGpa, kIdentityMapPageGpa);
  }
  irq_.emplace(*vm_);
  uint32_t slot = 0;
  for (const GuestMemory::Region& r : mem().regions()) {
    vm_->SetMemorySlot(slot++, r.gpa, r.size, r.host);
  }
}

// A single node joins its cluster of one: no wire, no DSM, the same link. A
// cluster node's DSM gets the cache budget PrepareGuest decided.
void Machine::JoinCluster() {
  ClusterRole role = role_;
  if (dsm_) {
    role.cache_pages = (guest_.cache_mib << 20) / abi::kPageSize;
    spdlog::info(
        "dsm: this node holds its {} MiB of guest RAM and caches up to {} MiB of other nodes' "
        "pages",
        HomeMib(), guest_.cache_mib);
  }
  cluster_ = std::make_unique<ClusterRuntime>(
      role, mem(), stop_,
      [this](uint32_t vcpu, uint8_t vector) { InterruptLocalVcpu(vcpu, vector); }, dsm_);
}

// What the node's devices do beyond their registers.
NodeDeviceHooks Machine::DeviceHooks() {
  NodeDeviceHooks h;
  h.console_output = [this](std::span<const uint8_t> bytes) { console_->Output(bytes); };
  h.console_irq = [this](bool level) { irq_->SetIrqLine(abi::kCom1Irq, level); };
  h.guest_exit = [this](uint32_t status) {
    stop_.Request({static_cast<int>(status & 0xff),
                   status == 0 ? "" : fmt::format("guest exited with status {}", status), false});
  };
  h.process_start = start_;
  h.boot_progress = [](const BootMilestone& b) {
    spdlog::info("boot +{:.3f} ms vcpu {} {} (monotonic_ns {})",
                 std::chrono::duration<double, std::milli>(b.since_start).count(), b.vcpu,
                 b.name ? b.name : fmt::format("milestone-{}", b.milestone), b.monotonic_ns);
  };
  h.vcpus = cfg_.vcpus;
  h.send_ipi = [this](uint32_t target, uint8_t vector) {
    cluster_->link().SendInterrupt(target, vector);
  };
  // Runs on the writing vCPU's own thread, between two KVM_RUNs: the next
  // KVM_RUN completes the OUT and then sleeps in KVM until an interrupt is
  // pending (or returns at once if one already is), as after a HLT exit.
  h.halt = [this](uint32_t vcpu) {
    if (vcpu < vcpus_.size()) vcpus_[vcpu]->SetMpState(KVM_MP_STATE_HALTED);
  };
  h.acpi_sleep = [this](uint8_t sleep_type) {
    if (sleep_type == kAcpiS5SleepType) {
      stop_.Request({0, "guest powered off (ACPI S5)", false});
    } else {
      spdlog::warn("guest asked for ACPI sleep type {}, which ssivm does not offer; ignored",
                   sleep_type);
    }
  };
  h.reset = [this] {
    stop_.Request({kExitGuestReboot,
                   fmt::format("guest asked for a reboot (reset register {:#x}); ssivm does not "
                               "reboot guests: exit status {}",
                               ResetPort::kPort, kExitGuestReboot),
                   false});
  };
  h.info = [this](uint32_t key) -> std::optional<uint64_t> {
    switch (key) {
      case abi::kInfoNodeId:
        return role_.GuestNodeOf(role_.self);
      case abi::kInfoNodeCount:
        return role_.node_count();
      case abi::kInfoVcpuExits:
        return VcpuExits();
      default:
        break;
    }
    // A DSM counter: one snapshot (it takes the fault engine's lock).
    return DsmCounterForInfoKey(cluster_->stats(), key);
  };
  return h;
}

void Machine::CreateDevices() {
  console_ = MakeConsole(cfg_.console);
  devices_ = std::make_unique<NodeDevices>(DeviceHooks());
  RegisterDevices(bus_, devices_->Table(), role_.device_node(),
                  [this](const DeviceEntry& e) { return cluster_->ForwardDevice(e.base); });
  if (role_.device_node()) {
    RegisterServedDevices(served_bus_, devices_->Table());
    cluster_->ServeDevices(served_bus_);
  }
}

void Machine::CreateVcpus() {
  const std::vector<kvm_cpuid_entry2> cpuid = sys_->SupportedCpuid();
  const LoadedKernel& kernel = guest_.kernel;
  // Every node has every vCPU: one that another node runs stays parked
  // until a migration brings its state here.
  for (uint32_t v = 0; v < cfg_.vcpus; ++v) {
    auto vcpu = std::make_unique<KvmVcpu>(*vm_, v);
    vcpu->SetCpuid(CpuidForVcpu(cpuid, v, vcpu->TscKhz(), !dsm_));
    // The ssivm kernel (ELF) starts every vCPU at its entry. Linux starts its
    // APs itself (INIT/SIPI through the LAPIC, found in the ACPI MADT), so
    // for a bzImage the APs stay in KVM's wait-for-SIPI state.
    const bool starts_at_entry =
        role_.runs(v) && (v == 0 || kernel.format == LoadedKernel::Format::kElf);
    if (starts_at_entry) {
      const BootCpuState st{v, kernel.entry, guest_.cr3, guest_.gdt_limit, guest_.boot_params};
      vcpu->SetSregs(LongModeSregs(vcpu->GetSregs(), st));
      vcpu->SetRegs(LongModeRegs(st));
      if (v != 0) vcpu->SetMpState(KVM_MP_STATE_RUNNABLE);
    }
    if (kind_ == HostKind::kPvm) {
      const auto sig = vcpu->GetMsr(abi::kMsrPvmSignature);
      if (!sig || *sig != abi::kPvmSignature) {
        throw Error(fmt::format(
            "this host has no VMX/SVM, but {} is not PVM KVM either (MSR {:#x} "
            "reads {}); ssivm cannot run guests here",
            cfg_.kvm_path, abi::kMsrPvmSignature, sig ? fmt::format("{:#x}", *sig) : "nothing"));
      }
      // Registering the vIF cell switches the vCPU to native execution.
      vcpu->SetMsrs(
          {{abi::kMsrPvmVif, (abi::VcpuSlotGpa(v) + abi::kSlotVifCell) | abi::kPvmVifRestore}});
    }
    vcpu_stats_.push_back(KvmStats::Open(vcpu->fd()));
    vcpus_.push_back(std::move(vcpu));
  }
}

uint64_t Machine::VcpuExits() const {
  uint64_t n = 0;
  for (const auto& loop : loops_) n += loop->exits();
  return n;
}

nlohmann::json Machine::Status() const {
  nlohmann::json j;
  j["node"] = role_.self;
  j["pid"] = ::getpid();
  j["nodes"] = role_.node_count();
  if (dsm_) j["epoch"] = role_.epoch();
  j["host_kind"] = HostKindName(kind_);
  j["memory_mib"] = cfg_.memory_mib;
  if (dsm_) {
    j["home_mib"] = HomeMib();
    j["cache_mib"] = guest_.cache_mib;
  }
  // The vCPUs this node runs now (migrations change them).
  const std::vector<uint32_t> running = cluster_->link().view().VcpusOf(role_.self);
  j["vcpus"] = running;
  // How long each vCPU slept halted (KVM's halt_wait_ns): an idle vCPU
  // whose thread spins in guest mode instead adds nothing.
  nlohmann::json halted = nlohmann::json::array();
  for (const uint32_t v : running) {
    const auto& st = vcpu_stats_[v];
    if (const auto ns = st ? st->Read("halt_wait_ns") : std::nullopt) halted.push_back(*ns);
  }
  if (halted.size() == running.size()) j["vcpu_halted_ns"] = halted;
  if (migrator_) j["migration"] = MigrationJson(migrator_->counters(), cluster_->link());
  if (migrator_ && role_.device_node()) {
    j["placement"] =
        PlacementJson(migrator_->Placement(), placement_->automatic(), placement_->costs());
  }
  j["vcpus_total"] = cfg_.vcpus;
  j["exits"] = VcpuExits();
  j["uptime_s"] = MsSince(start_) / 1000;
  if (role_.device_node()) j["console_dropped_bytes"] = console_->dropped_bytes();
  if (dsm_) {
    j["dsm"] = DsmCountersJson(cluster_->stats());
    // Placement's input: per vCPU here, the pages it waited for by the node
    // they came from.
    nlohmann::json pulled = nlohmann::json::array();
    for (const auto& [vcpu, from] : cluster_->vcpu_pages_from()) {
      nlohmann::json nodes = nlohmann::json::object();
      for (const auto& [node, pages] : from) nodes[std::to_string(node)] = pages;
      pulled.push_back({{"vcpu", vcpu}, {"pages_from", nodes}});
    }
    j["vcpu_pages_from"] = pulled;
  }
  nlohmann::json links = nlohmann::json::array();
  for (const cluster::LinkStatus& l : cluster_->links()) {
    links.push_back({{"node", l.peer},
                     {"address", l.address},
                     {"heard_ms_ago", l.heard_ms_ago},
                     {"sent_ms_ago", l.sent_ms_ago},
                     {"queued_bytes", l.queued_bytes}});
  }
  if (!links.empty()) j["links"] = links;
  return j;
}

void Machine::StartControlSocket() {
  if (cfg_.control_path.empty()) return;
  ControlHandlers handlers;
  handlers.status = [this] { return Status(); };
  handlers.stop = [this] { stop_.Request({0, "stopped by ssictl down", false}); };
  if (migrator_) AddMigrationCommands(handlers, *migrator_);
  control_ = std::make_unique<ControlServer>(cfg_.control_path, std::move(handlers));
}

void Machine::ReportDsm() const {
  const dsm::DsmStats st = cluster_->stats();
  spdlog::info("dsm: {}", DsmCountersLine(st));
  spdlog::info("dsm: fault latency {}", dsm::FormatLatency(st));
  std::string hot;
  for (const auto& [page, n] : cluster_->final_hottest_pages()) {
    hot += fmt::format(" {:#x}:{}", page * abi::kPageSize, n);
  }
  if (!hot.empty()) spdlog::info("dsm: most faulted pages (address:faults):{}", hot);
}

// The coordinator (the device node) decides moves; every node of a cluster
// of more than one takes part.
void Machine::CreateMigrator() {
  if (!dsm_ || role_.node_count() < 2) return;
  std::vector<uint32_t> extra;
  if (kind_ == HostKind::kPvm) extra.push_back(abi::kMsrPvmVif);
  MigratorConfig mc;
  mc.self = role_.self;
  mc.coordinator = role_.device_node_id();
  mc.device_node = role_.device_node_id();
  mc.carry_slot = guest_.kernel.format == LoadedKernel::Format::kElf;
  mc.pvm = kind_ == HostKind::kPvm;
  std::vector<VcpuLoop*> loops;
  for (auto& loop : loops_) loops.push_back(loop.get());
  migrator_ = std::make_unique<VcpuMigrator>(
      mc, cluster_->link(), cluster_->transport(), mem(), std::move(loops),
      migrate::DetectCaptureFeatures(*sys_, *vcpus_.front(), extra),
      [this](cluster::NodeId n) { return static_cast<uint8_t>(role_.GuestNodeOf(n)); },
      [this](uint32_t vcpu) { return cluster_->VcpuWaitsForPage(vcpu); }, stop_);
  PlacementDriverConfig pc;
  pc.self = role_.self;
  pc.coordinator = mc.coordinator;
  pc.automatic = role_.placement;
  PlacementDriver::Inputs inputs;
  inputs.pages_from = [this] { return cluster_->vcpu_pages_from(); };
  inputs.fault_latencies = [this] {
    const dsm::DsmStats st = cluster_->stats();
    return std::vector<uint64_t>(std::begin(st.latency_us_log2), std::end(st.latency_us_log2));
  };
  placement_ = std::make_unique<PlacementDriver>(pc, cluster_->link(), cluster_->transport(),
                                                 *migrator_, std::move(inputs));
  cluster_->link().set_migration_handler(
      [this](cluster::NodeId from, const cluster::ControlMessage& m, const PageBuffer& page) {
        if (const auto* p = std::get_if<cluster::PagesPulled>(&m)) {
          placement_->OnPagesPulled(from, *p);
        } else {
          migrator_->OnMessage(from, m, page);
        }
      });
}

MachineResult Machine::Run() {
  InstallVcpuKickSignal();
  loops_.reserve(vcpus_.size());
  for (auto& vcpu : vcpus_) {
    loops_.push_back(std::make_unique<VcpuLoop>(*vcpu, bus_, stop_, cfg_.vcpu_cpus));
    loops_.back()->OnThreadStart(
        [this](uint32_t vcpu, uint32_t tid) { cluster_->RegisterVcpuThread(vcpu, tid); });
  }
  CreateMigrator();
  // Parked before the transport starts: a migration may arrive at once.
  for (uint32_t v = 0; v < loops_.size(); ++v) {
    if (!role_.runs(v)) loops_[v]->StartPaused();
  }
  console_->Start(devices_->uart, stop_);
  cluster_->StartDsm(mem(), ReplicatedAtStart(guest_));
  spdlog::info("vm ready after {:.3f} ms (monotonic_ns {}); starting {} vCPUs", MsSince(start_),
               MonotonicNs(), role_.view.VcpusOf(role_.self).size());
  if (!cfg_.vcpu_cpus.empty()) {
    spdlog::info("vCPU threads run on host CPUs {}", FormatCpuList(cfg_.vcpu_cpus));
  }
  StartControlSocket();
  for (uint32_t v = 0; v < loops_.size(); ++v) {
    if (role_.runs(v)) loops_[v]->Start();
  }

  WaitForStop(stop_, stop_signals_, console_->on_terminal());
  if (placement_) placement_->Stop();
  if (migrator_) migrator_->Stop();  // a waiting `ssictl migrate` returns
  control_.reset();
  for (auto& loop : loops_) loop->Kick();
  // Tell the other nodes, and release vCPU threads waiting for a page or
  // for a forwarded port access.
  cluster_->Stop(stop_.reason()->status);
  if (dsm_) ReportDsm();
  if (migrator_) spdlog::info("{}", MigrationLine(migrator_->counters(), cluster_->link()));
  for (auto& loop : loops_) loop->Join();
  devices_->uart.Shutdown();
  console_->Stop();
  if (const uint64_t dropped = console_->dropped_bytes(); dropped > 0) {
    spdlog::warn(
        "console: {} bytes of guest output dropped: its reader did not take them (a paused "
        "terminal, a pipe or client that stopped reading)",
        dropped);
  }
  const StopReason reason = *stop_.reason();
  return {reason.status, reason.message, reason.error, VcpuExits()};
}

}  // namespace

GuestCheck ValidateGuest(const MachineConfig& cfg) {
  const PreparedGuest g = PrepareGuest(cfg, cfg.host_kind ? *cfg.host_kind : HostKind::kHardware);
  return {g.kernel.format == LoadedKernel::Format::kBzImage};
}

MachineResult RunMachine(const MachineConfig& cfg, std::chrono::steady_clock::time_point start) {
  return Machine(cfg, start).Build();
}

}  // namespace ssivm

// kmain: the boot sequence, for the boot vCPU (0) and the APs.
#include <stdint.h>

#include "guest/abi/boot_info.h"
#include "guest/abi/pv_devices.h"
#include "guest/arch/arch.h"
#include "guest/arch/slot.h"
#include "guest/drivers/lapic.h"
#include "guest/kernel/boot_info.h"
#include "guest/kernel/clock.h"
#include "guest/kernel/console.h"
#include "guest/kernel/interrupts.h"
#include "guest/kernel/layout.h"
#include "guest/kernel/mem.h"
#include "guest/kernel/options.h"
#include "guest/kernel/percpu.h"
#include "guest/kernel/power.h"
#include "guest/kernel/progress.h"
#include "guest/kernel/sched.h"
#include "guest/kernel/smp.h"
#include "guest/lib/format.h"

namespace ssivm::guest {
namespace {

// Filled by the boot vCPU before it releases the APs.
SSIVM_READ_MOSTLY constinit BootInfo g_boot_info{};
SSIVM_READ_MOSTLY constinit Options g_options{};

}  // namespace

const BootInfo& Boot() {
  return g_boot_info;
}

uint32_t NodeOfCpu(uint32_t cpu) {
  if (cpu >= abi::kMaxVcpus || cpu >= g_boot_info.vcpu_count) return 0;
  return __atomic_load_n(&g_boot_info.ssivm->vcpu_node[cpu], __ATOMIC_RELAXED);
}

namespace {

const char* HostKindName(uint32_t kind) {
  switch (static_cast<abi::HostKind>(kind)) {
    case abi::HostKind::kPvm:
      return "pvm";
    case abi::HostKind::kHardware:
      return "hardware";
  }
  return "unknown";
}

// The per-vCPU state (vIF cell, per-CPU data) is found through GS, which
// InitCpu points at the slot the boot stack is in: make sure the VMM gave
// this vCPU the stack in its own slot.
void CheckSlot(uint32_t vcpu) {
  const uint64_t slot = arch::BootSlotBase();
  if (vcpu >= abi::kMaxVcpus || slot != abi::VcpuSlotGpa(vcpu)) {
    Panic("vcpu %u: boot stack is in slot %#lx, expected %#lx", vcpu, slot, abi::VcpuSlotGpa(vcpu));
  }
}

// The x2APIC ID from the VMM's CPUID: leaf 0xb EDX if that leaf is valid,
// else the 8-bit initial APIC ID in leaf 1 EBX[31:24].
uint32_t ApicId() {
  arch::CpuidRegs regs;
  arch::Cpuid(0, 0, &regs);
  const uint32_t max_leaf = regs.eax;
  if (max_leaf >= 0xb) {
    arch::Cpuid(0xb, 0, &regs);
    if (regs.ebx != 0) return regs.edx;  // EBX = 0: leaf not implemented
  }
  arch::Cpuid(1, 0, &regs);
  return regs.ebx >> 24;
}

// Per-CPU data and GS, then the idle thread (this context) and the LAPIC.
// Interrupts stay disabled until the idle loop.
void InitCpu(uint32_t vcpu) {
  const uint64_t slot = abi::VcpuSlotGpa(vcpu);
  auto* local = reinterpret_cast<SlotLocal*>(slot + abi::kSlotPerCpu);
  __builtin_memset(static_cast<void*>(local), 0, sizeof(SlotLocal));
  arch::InitCpu(slot);
  arch::IrqDisable();
  local->id = vcpu;
  PerCpu* c = CpuData(vcpu);
  __builtin_memset(static_cast<void*>(c), 0, sizeof(PerCpu));
  c->id = vcpu;
  c->apic_id = ApicId();
  sched::InitCpu(vcpu);
  interrupts::InitCpu();
}

void ComeOnline(uint32_t vcpu) {
  console::Printf("cpu %u: online (apic id %u)\n", vcpu, CpuData(vcpu)->apic_id);
  ReportProgress(vcpu, abi::kMilestoneCpuOnline);
  smp::MarkOnline();
}

// The probe decides (it is what the CPU does); a VMM that thinks otherwise
// is worth a line on the console.
void DetectArch(const BootInfo& info) {
  arch::Probe probe;
  const arch::Kind kind = arch::Detect(&probe);
  arch::Select(kind, (info.ssivm->features & abi::kFeatureIdlePort) != 0);
  InitCpu(0);  // GS (and with it the vIF cell) before anything else
  const auto expected = kind == arch::Kind::Pvm ? abi::HostKind::kPvm : abi::HostKind::kHardware;
  if (info.ssivm->host_kind != static_cast<uint32_t>(expected)) {
    char seen[32];
    if (probe.faulted) {
      FormatToBuffer(seen, sizeof(seen), "#GP");
    } else {
      FormatToBuffer(seen, sizeof(seen), "%#lx", probe.value);
    }
    console::Printf("arch: probe says %s (MSR %#x: %s), VMM says %s; using %s\n",
                    arch::KindName(kind), abi::kMsrPvmSignature, seen,
                    HostKindName(info.ssivm->host_kind), arch::KindName(kind));
  }
}

void MainThread(void*) {
  RunOptions(g_options);
}

[[noreturn]] void BootCpuMain(const abi::BootParams* params) {
  // The UART first, so that a bad boot info can still be reported.
  console::Init();
  uint64_t detail;
  if (const char* error = ParseBootInfo(params, &g_boot_info, &detail)) {
    console::Printf("ssivm: invalid boot info: %s (%#lx)\n", error, detail);
    PowerOff(abi::kExitPanic);
  }
  ReportProgress(0, abi::kMilestoneBootInfo);
  CheckSlot(0);

  DetectArch(g_boot_info);
  ReportProgress(0, abi::kMilestoneArch);
  ReportProgress(0, abi::kMilestoneConsole);
  console::Printf("ssivm guest kernel booting: %u vCPUs, %lu MiB RAM, host %s, halt by %s\n",
                  g_boot_info.vcpu_count, g_boot_info.ram_bytes >> 20,
                  arch::KindName(arch::Current()), arch::HaltMethod());
  g_options = ParseOptions(g_boot_info.cmdline, g_boot_info.cmdline_max);
  RunEarlyOptions(g_options);
  interrupts::InstallIdt();  // from here every exception gets a panic report (node 0)
  mem::Init(*g_boot_info.ssivm);
  clock::Init();
  sched::Init(g_boot_info.vcpu_count);

  smp::ReleaseAps();
  ComeOnline(0);
  uint32_t online;
  if (!smp::WaitAllOnline(g_boot_info.vcpu_count, &online)) {
    Panic("only %u of %u cpus came online", online, g_boot_info.vcpu_count);
  }
  console::Printf("all %u cpus online\n", g_boot_info.vcpu_count);
  ReportProgress(0, abi::kMilestoneAllCpus);
  interrupts::RouteConsole(CpuData(0)->apic_id);
  console::EnableInput();
  if (sched::Spawn(MainThread, nullptr, "main") == nullptr) Panic("cannot create the main thread");
  ReportProgress(0, abi::kMilestoneReady);
  clock::StartTick();
  sched::IdleLoop();
}

[[noreturn]] void ApMain(uint32_t vcpu) {
  smp::WaitForRelease();
  if (vcpu >= g_boot_info.vcpu_count) {
    Panic("vcpu %u started, but the boot info names %u vCPUs", vcpu, g_boot_info.vcpu_count);
  }
  CheckSlot(vcpu);
  // The IDT is node-private: on other nodes nobody has filled it yet. Every
  // AP writes the same gates, so doing it on every vCPU is harmless.
  interrupts::InstallIdt();
  InitCpu(vcpu);
  ComeOnline(vcpu);
  clock::StartTick();
  sched::IdleLoop();
}

}  // namespace
}  // namespace ssivm::guest

// Called by start.S on every vCPU.
extern "C" [[noreturn]] void kmain(uint32_t vcpu, const ssivm::abi::BootParams* params) {
  if (vcpu == 0) ssivm::guest::BootCpuMain(params);
  ssivm::guest::ApMain(vcpu);
}

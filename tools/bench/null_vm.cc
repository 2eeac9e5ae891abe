// The floor for boot-time ratios: the least a KVM VMM can do before a guest's
// first instruction runs on this host (exec, VM, 32 MiB of RAM, one vCPU in
// long mode, one OUT). Prints the CLOCK_MONOTONIC time of that first exit.
#include <time.h>

#include <cstdio>

#include "common/error.h"
#include "common/mapping.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/kvm/host_kind.h"
#include "hypervisor/kvm/kvm_system.h"
#include "hypervisor/kvm/kvm_vcpu.h"
#include "hypervisor/kvm/kvm_vm.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/x86/cpu_setup.h"
#include "hypervisor/x86/descriptors.h"
#include "hypervisor/x86/page_tables.h"

int main() {
  using namespace ssivm;
  try {
    const HostKind kind = DetectHostKind();
    KvmSystem sys = KvmSystem::Open();
    KvmVm vm(sys);
    vm.CreateIrqchip();
    const uint64_t size = 32ull << 20;
    Mapping ram = Mapping::Anonymous(size, "null VM RAM");
    GuestMemory mem({{0, size, ram.data()}});
    vm.SetMemorySlot(0, 0, size, ram.data());
    PageTableOptions pt{abi::kPageTablesGpa,   abi::kPageTablesMaxSize, size, 0, 0,
                        kind == HostKind::kPvm};
    const uint64_t cr3 = BuildIdentityPageTables(mem, pt);
    const uint16_t gdt_limit = BuildGdt(mem, abi::kGdtGpa, 1);
    BuildTss(mem, 0);
    const uint8_t code[] = {0xe6, 0x99, 0xf4};  // out %al, $0x99; hlt
    mem.Write(abi::kKernelBase, code);
    KvmVcpu vcpu(vm, 0);
    vcpu.SetCpuid(CpuidForVcpu(sys.SupportedCpuid(), 0));
    const BootCpuState st{0, abi::kKernelBase, cr3, gdt_limit, 0};
    vcpu.SetSregs(LongModeSregs(vcpu.GetSregs(), st));
    vcpu.SetRegs(LongModeRegs(st));
    if (kind == HostKind::kPvm) {
      vcpu.SetMsrs(
          {{abi::kMsrPvmVif, (abi::VcpuSlotGpa(0) + abi::kSlotVifCell) | abi::kPvmVifRestore}});
    }
    if (vcpu.Run() != 0 || vcpu.run()->exit_reason != KVM_EXIT_IO) {
      std::fprintf(stderr, "null_vm: the guest did not reach its OUT (exit %u)\n",
                   vcpu.run()->exit_reason);
      return 1;
    }
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    std::printf("first_exit_monotonic_ns %lld\n",
                static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "null_vm: %s\n", e.what());
    return 1;
  }
}

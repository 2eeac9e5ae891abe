#include "guest/kernel/panic.h"

#include "guest/abi/pv_devices.h"
#include "guest/arch/arch.h"
#include "guest/kernel/console.h"
#include "guest/kernel/percpu.h"
#include "guest/kernel/power.h"
#include "guest/kernel/sched.h"

namespace ssivm::guest {
namespace {

const char* const kNames[32] = {"#DE divide error",
                                "#DB debug",
                                "NMI",
                                "#BP breakpoint",
                                "#OF overflow",
                                "#BR bound range",
                                "#UD invalid opcode",
                                "#NM no FPU",
                                "#DF double fault",
                                "coprocessor overrun",
                                "#TS invalid TSS",
                                "#NP segment not present",
                                "#SS stack fault",
                                "#GP general protection",
                                "#PF page fault",
                                "reserved",
                                "#MF x87 error",
                                "#AC alignment check",
                                "#MC machine check",
                                "#XM SIMD error",
                                "#VE virtualization",
                                "#CP control protection",
                                "reserved",
                                "reserved",
                                "reserved",
                                "reserved",
                                "reserved",
                                "reserved",
                                "#HV injection",
                                "#VC VMM communication",
                                "#SX security",
                                "reserved"};

}  // namespace

void ExceptionPanic(const arch::Frame& f) {
  console::BeginPanic();
  const uint32_t cpu = CurrentCpuId();
  const Thread* t = CurrentThread();
  const uint64_t cr2 = f.vector == 14 ? arch::ReadCr2() : 0;
  console::Printf("ssivm: panic: cpu %u: exception %lu (%s), error code %#lx, rip %#lx, cr2 %#lx\n",
                  cpu, f.vector, f.vector < 32 ? kNames[f.vector] : "?", f.error, f.rip, cr2);
  console::Printf("  thread %s, cs %#lx rflags %#lx rsp %#lx ss %#lx\n",
                  t != nullptr ? t->name : "?", f.cs, f.rflags, f.rsp, f.ss);
  console::Printf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", f.rax, f.rbx, f.rcx, f.rdx);
  console::Printf("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", f.rsi, f.rdi, f.rbp, f.r8);
  console::Printf("  r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n", f.r9, f.r10, f.r11, f.r12);
  console::Printf("  r13 %016lx r14 %016lx r15 %016lx\n", f.r13, f.r14, f.r15);
  console::Printf("ssivm: powering off (status %u)\n", abi::kExitPanic);
  PowerOff(abi::kExitPanic);
}

}  // namespace ssivm::guest

#include "guest/kernel/interrupts.h"

#include "guest/abi/pv_devices.h"
#include "guest/arch/frame.h"
#include "guest/arch/idt.h"
#include "guest/drivers/ioapic.h"
#include "guest/drivers/lapic.h"
#include "guest/kernel/clock.h"
#include "guest/kernel/console.h"
#include "guest/kernel/panic.h"
#include "guest/kernel/percpu.h"
#include "guest/kernel/sched.h"
#include "guest/kernel/vectors.h"

namespace ssivm::guest::interrupts {

void InstallIdt() {
  arch::idt::InstallAll(vec::kSchedule);
}

void InitCpu() {
  lapic::Init(vec::kSpurious);
  clock::StartTick();
}

void RouteConsole(uint32_t apic_id) {
  ioapic::Route(abi::kCom1Irq, vec::kCom1, apic_id);
}

}  // namespace ssivm::guest::interrupts

extern "C" void arch_interrupt(ssivm::guest::arch::Frame* frame) {
  using namespace ssivm::guest;  // NOLINT(build/namespaces)
  const uint64_t vector = frame->vector;
  if (vector < 32 && vector != vec::kSchedule) ExceptionPanic(*frame);
  ++ThisCpu()->counters.irqs;
  switch (vector) {
    case vec::kTimer:
      lapic::Eoi();
      sched::OnTick(frame);
      break;
    case vec::kCom1:
      console::OnInterrupt();
      lapic::Eoi();
      break;
    case vec::kSchedule:  // a trap: no EOI
      sched::OnSchedule(frame);
      break;
    case vec::kReschedIpi: {
      lapic::Eoi();
      CpuCounters& c = ThisCpu()->counters;
      __atomic_store_n(&c.resched_ipis, c.resched_ipis + 1, __ATOMIC_RELEASE);
      sched::OnReschedIpi(frame);
      break;
    }
    case vec::kSpurious:  // no EOI for the spurious vector
      break;
    default:
      lapic::Eoi();
      break;
  }
}

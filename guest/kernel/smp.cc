#include "guest/kernel/smp.h"

#include "guest/arch/arch.h"
#include "guest/lib/atomic.h"

namespace ssivm::guest::smp {
namespace {

// In .data, not .bss: APs spin on it while the boot vCPU clears .bss.
__attribute__((section(".data"))) constinit Atomic<uint32_t> g_released(0);
constinit Atomic<uint32_t> g_online(0);

// Generous: ~60 s at 3 GHz. Only a VMM that failed to start a vCPU hits it,
// and then a clear panic beats a hung VM. In the emulated hardware-KVM
// machine an AP on another node, paging the kernel in over the DSM while
// other vCPUs hold the few emulated CPUs, took over 10 s.
constexpr uint64_t kOnlineTimeoutCycles = 192ull << 30;


}  // namespace

void ReleaseAps() {
  g_released.Store(1, MemoryOrder::kRelease);
}

void WaitForRelease() {
  while (g_released.Load(MemoryOrder::kAcquire) == 0) arch::Pause();
}

void MarkOnline() {
  g_online.FetchAdd(1, MemoryOrder::kRelease);
}

bool WaitAllOnline(uint32_t count, uint32_t* online) {
  const uint64_t start = arch::ReadTsc();
  for (;;) {
    *online = g_online.Load(MemoryOrder::kAcquire);
    if (*online >= count) return true;
    if (arch::ReadTsc() - start > kOnlineTimeoutCycles) return false;
    arch::Pause();
  }
}

}  // namespace ssivm::guest::smp

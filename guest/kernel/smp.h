// Bringing the vCPUs up. The VMM starts all of them at the kernel entry at
// once; the APs wait here until the boot vCPU has finished its early init.
#ifndef SSIVM_GUEST_KERNEL_SMP_H_
#define SSIVM_GUEST_KERNEL_SMP_H_

#include <stdint.h>

namespace ssivm::guest::smp {

// Boot vCPU: everything written before this is visible to the released APs.
void ReleaseAps();
// APs: spin until ReleaseAps(). Touches nothing in .bss before it returns
// (the boot vCPU clears .bss meanwhile).
void WaitForRelease();

// This vCPU is up.
void MarkOnline();
// Boot vCPU: waits until `count` vCPUs are online; false on timeout (some
// vCPU never arrived), with the number that did in *online.
bool WaitAllOnline(uint32_t count, uint32_t* online);

}  // namespace ssivm::guest::smp

#endif  // SSIVM_GUEST_KERNEL_SMP_H_

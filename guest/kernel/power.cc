#include "guest/kernel/power.h"

#include <stdarg.h>

#include "guest/abi/pv_devices.h"
#include "guest/arch/arch.h"
#include "guest/kernel/console.h"
#include "guest/lib/format.h"

namespace ssivm::guest {

void PowerOff(uint32_t status) {
  arch::Outl(abi::kDebugExitPort, status);
  // The VMM stops every vCPU on that write; never run on if it did not. HLT
  // works on both hosts (trapped on PVM) and needs no arch back end.
  for (;;) asm volatile("hlt");
}

void Panic(const char* fmt, ...) {
  char message[256];
  va_list args;
  va_start(args, fmt);
  // Formatted outside the console lock, then printed as one line.
  VFormatToBuffer(message, sizeof(message), fmt, args);
  va_end(args);
  console::Printf("ssivm: panic: %s\n", message);
  PowerOff(abi::kExitPanic);
}

}  // namespace ssivm::guest

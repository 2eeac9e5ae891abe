#include "guest/kernel/console.h"

#include <stdint.h>

#include "guest/abi/pv_devices.h"
#include "guest/drivers/uart16550.h"
#include "guest/lib/format.h"
#include "guest/lib/spinlock.h"

namespace ssivm::guest::console {
namespace {

// Lines end in a bare '\n': the VMM passes COM1 output through to its own
// output, where tests match whole lines.
constinit Uart16550 g_com1(abi::kCom1Port);
constinit TicketLock g_lock;

void PutChar(void*, char c) {
  g_com1.Put(static_cast<uint8_t>(c));
}

}  // namespace

void Init() {
  g_com1.Init();
}

void VPrintf(const char* fmt, va_list args) {
  LockGuard guard(g_lock);
  VFormat(PutChar, nullptr, fmt, args);
}

void Printf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  VPrintf(fmt, args);
  va_end(args);
}

unsigned ReadLine(char* buf, unsigned size) {
  unsigned n = 0;
  for (;;) {
    const uint8_t c = g_com1.Get();
    if (c == '\r' || c == '\n') break;
    if (n + 1 < size) buf[n++] = static_cast<char>(c);
  }
  buf[n] = '\0';
  return n;
}

}  // namespace ssivm::guest::console

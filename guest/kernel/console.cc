#include "guest/kernel/console.h"

#include <stdint.h>

#include "guest/abi/pv_devices.h"
#include "guest/drivers/uart16550.h"
#include "guest/kernel/irq_lock.h"
#include "guest/kernel/layout.h"
#include "guest/kernel/sync.h"
#include "guest/lib/format.h"

namespace ssivm::guest::console {
namespace {

// Lines end in a bare '\n': the VMM passes COM1 output through to its own
// output, where tests match whole lines.
SSIVM_READ_MOSTLY constinit Uart16550 g_com1(abi::kCom1Port);
constinit IrqSpinLock g_out_lock;
constinit bool g_panic = false;

// Received bytes not yet read; the VMM queues input and never drops it, so
// a full buffer just leaves bytes in the UART until the reader catches up.
constexpr uint32_t kRxSize = 1024;
constinit IrqSpinLock g_rx_lock;
constinit uint8_t g_rx[kRxSize]{};
constinit uint32_t g_rx_head = 0;  // next to read
constinit uint32_t g_rx_tail = 0;  // next to write
constinit WaitQueue g_rx_wait;

void PutChar(void*, char c) {
  g_com1.Put(static_cast<uint8_t>(c));
}

// Moves what the UART holds into the buffer. Returns true if anything came.
bool Drain() {
  IrqLockGuard guard(g_rx_lock);
  bool any = false;
  uint8_t byte;
  while (g_rx_tail - g_rx_head < kRxSize && g_com1.TryGet(&byte)) {
    g_rx[g_rx_tail++ % kRxSize] = byte;
    any = true;
  }
  return any;
}

bool Pop(uint8_t* byte) {
  IrqLockGuard guard(g_rx_lock);
  if (g_rx_head == g_rx_tail) return false;
  *byte = g_rx[g_rx_head++ % kRxSize];
  return true;
}

uint8_t GetChar() {
  uint8_t c = 0;
  g_rx_wait.WaitUntil([&c] { return Pop(&c); });
  // The buffer may have filled up while the UART held more: fetch it.
  if (g_rx_tail - g_rx_head == 0) Drain();
  return c;
}

void EchoStr(const char* s) {
  Printf("%s", s);
}

}  // namespace

void Init() {
  g_com1.Init();
}

void EnableInput() {
  g_com1.EnableRxInterrupt();
  // Input that arrived before the interrupt was enabled raises none.
  Drain();
}

void BeginPanic() {
  g_panic = true;
}

void OnInterrupt() {
  if (Drain()) g_rx_wait.WakeAll();
}

void VPrintf(const char* fmt, va_list args) {
  if (__atomic_load_n(&g_panic, __ATOMIC_RELAXED)) {
    VFormat(PutChar, nullptr, fmt, args);
    return;
  }
  IrqLockGuard guard(g_out_lock);
  VFormat(PutChar, nullptr, fmt, args);
}

void Printf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  VPrintf(fmt, args);
  va_end(args);
}

unsigned ReadLine(char* buf, unsigned size, Echo echo) {
  static constinit bool last_was_cr = false;  // CR LF is one line end
  unsigned n = 0;
  for (;;) {
    const uint8_t c = GetChar();
    if (c == '\n' && last_was_cr) {
      last_was_cr = false;
      continue;
    }
    last_was_cr = c == '\r';
    if (c == '\r' || c == '\n') break;
    if (c == 0x7f || c == 0x08) {  // DEL, BS
      if (n > 0) {
        --n;
        if (echo == Echo::kOn) EchoStr("\b \b");
      }
    } else if (c == 0x15) {  // Ctrl-U: kill the line
      while (n > 0) {
        --n;
        if (echo == Echo::kOn) EchoStr("\b \b");
      }
    } else if (c >= 0x20 && c < 0x7f && n + 1 < size) {
      buf[n++] = static_cast<char>(c);
      if (echo == Echo::kOn) Printf("%c", c);
    }
  }
  Printf("\n");  // ends the line the terminal (or the prompt) started
  buf[n] = '\0';
  return n;
}

}  // namespace ssivm::guest::console

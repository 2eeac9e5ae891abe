// Polled 16550A UART (COM1 is emulated by the VMM). Every register access is
// an exit to the VMM (~20 µs on PVM), so the driver avoids status reads it
// does not need.
#ifndef SSIVM_GUEST_DRIVERS_UART16550_H_
#define SSIVM_GUEST_DRIVERS_UART16550_H_

#include <stdint.h>

namespace ssivm::guest {

class Uart16550 {
 public:
  explicit constexpr Uart16550(uint16_t base) : base_(base) {}

  // 8N1 at 115200 baud, FIFOs on, interrupts off.
  void Init();
  // Waits for room in the transmitter, then sends one byte.
  void Put(uint8_t byte);
  // Waits for a received byte (polled: each status read is an exit, so this
  // is for short waits until the kernel takes receive interrupts).
  uint8_t Get();
  // A received byte if there is one (one status read).
  bool TryGet(uint8_t* byte);
  // Interrupt on received data (and on the FIFO's receive timeout).
  void EnableRxInterrupt();

 private:
  uint16_t base_;
  uint8_t fifo_depth_ = 1;  // bytes the transmitter takes once it reports empty
  uint8_t room_ = 0;        // bytes that may be written before the next status read
};

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_DRIVERS_UART16550_H_

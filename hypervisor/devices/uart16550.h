// A 16550A UART register model (the PC's COM ports).
#ifndef SSIVM_HYPERVISOR_DEVICES_UART16550_H_
#define SSIVM_HYPERVISOR_DEVICES_UART16550_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "hypervisor/devices/pio_device.h"

namespace ssivm {

// The guest sees the eight registers of a 16550A (register bits in
// uart16550_regs.h); the host sees a byte stream each way.
//
// Timing: there is no baud clock. A byte written to THR is transmitted at
// once (THRE and TEMT are always set), and received bytes are available as
// soon as there is room in the receiver FIFO.
//
// Receive path: PushInput() appends host bytes to a bounded queue. Its head
// is the guest-visible receiver FIFO (16 bytes in FIFO mode, 1 byte -- the RBR
// -- in 16450 mode); the rest waits, as if still on the wire, and moves into
// the FIFO as the guest reads RBR. PushInput() accepts only what fits, so the
// host never loses a byte: it retries later, waiting in WaitForInputSpace().
// Clearing the receiver FIFO (FCR bit 1, or changing FCR bit 0) discards the
// loopback bytes in it, like the chip, but puts unread host bytes back on the
// wire: input typed before the guest's driver reset the FIFO is not lost.
// In loopback mode the serial
// input is disconnected: host bytes stay queued until loopback ends.
//
// Interrupts, in priority order (IIR code):
//   0x06 receiver line status: overrun (LSR.OE), cleared by reading LSR;
//   0x04 received data available: FIFO at or above the FCR trigger level
//        (1/4/8/14), or RBR full in 16450 mode;
//   0x0c character timeout: FIFO mode, data below the trigger level. With no
//        bit timing the 4-character timeout is modelled as already expired,
//        so it is pending whenever such data is present;
//   0x02 THR empty: set when a THR write has been transmitted (at once) and
//        when IER.ETBEI goes from 0 to 1 (THR is always empty); cleared by a
//        THR write or by reading IIR while it is the reported source;
//   0x00 modem status: any MSR delta bit, cleared by reading MSR.
// Each needs its IER enable bit. A THR write clears THRE and transmission
// sets it again, so while THRE alone drives the output, each THR write
// produces a low-high pulse: edge-triggered interrupt controllers (the ISA
// PIC/IOAPIC pins) get a new edge, as with the real chip.
//
// The interrupt output models the chip's INTR pin and is NOT gated by
// MCR.OUT2 (on a PC, OUT2 enables a board-level buffer in front of the IRQ
// line). Linux's 8250 driver sets OUT2 whenever it wants interrupts and its
// probing does not rely on OUT2 blocking them, while guests that forget OUT2
// would lose interrupts under gating; common VMMs don't gate either.
//
// Modem: a modem is present, so CTS, DSR and DCD are asserted (MSR = 0xb0
// after reset). In loopback mode (MCR bit 4) transmitted bytes go to the
// receiver instead of `tx`, and the modem inputs follow the outputs: RTS->CTS,
// DTR->DSR, OUT1->RI, OUT2->DCD, with delta bits set on changes. An overrun
// (LSR.OE) can only come from loopback: a byte arriving with the FIFO full is
// lost (16450 mode: it replaces the unread RBR).
//
// Threading: all methods are thread-safe (vCPU threads call Read/Write while a
// console thread pushes input). The callbacks run on the calling thread after
// the state mutex is released, in the order the events happened, even across
// threads (a second mutex hands them over in order). They must not call back
// into this object. A slow `tx` stalls guest accesses that produce callbacks.
class Uart16550 : public PioDevice {
 public:
  // Bytes the guest transmitted (not called in loopback mode).
  using TxCallback = std::function<void(std::span<const uint8_t>)>;
  // The new level of the interrupt output; called only on changes. The level
  // is low at construction.
  using IrqCallback = std::function<void(bool level)>;

  static constexpr size_t kFifoSize = 16;
  static constexpr size_t kDefaultInputCapacity = 4096;

  // Either callback may be empty. `input_capacity` bounds the bytes held on
  // the receive side (FIFO plus queue); it must be at least 1.
  Uart16550(TxCallback tx, IrqCallback irq, size_t input_capacity = kDefaultInputCapacity);
  Uart16550(const Uart16550&) = delete;
  Uart16550& operator=(const Uart16550&) = delete;

  // Register access. A 2- or 4-byte access is a sequence of byte accesses to
  // consecutive registers (as an 8-bit ISA device sees it), little-endian;
  // offsets past the eight registers read 0xff and ignore writes.
  uint32_t Read(uint16_t offset, uint8_t size) override;
  void Write(uint16_t offset, uint8_t size, uint32_t value) override;

  // Queues received bytes; returns how many were accepted (a prefix of
  // `bytes`, possibly empty). The rest must be pushed again later.
  size_t PushInput(std::span<const uint8_t> bytes);
  // How many bytes PushInput would accept now.
  size_t InputSpace() const;
  // Waits until InputSpace() > 0, Shutdown() was called, or `timeout` passed.
  // Returns whether there is space. Woken when the guest frees space (reads
  // RBR or clears the receiver FIFO).
  bool WaitForInputSpace(std::chrono::milliseconds timeout);
  // Wakes all WaitForInputSpace callers, now and in future.
  void Shutdown();

  // The current level of the interrupt output.
  bool irq_level() const;

 private:
  struct Effects;  // callbacks and wake-ups collected under the lock

  uint8_t ReadRegister(uint16_t offset, Effects& fx);
  void WriteRegister(uint16_t offset, uint8_t value, Effects& fx);
  void WriteThr(uint8_t byte, Effects& fx);
  void WriteIer(uint8_t value);
  void WriteFcr(uint8_t value, Effects& fx);
  void WriteMcr(uint8_t value);
  uint8_t ReadRbr(Effects& fx);
  uint8_t ReadIir();
  uint8_t ReadLsr();
  uint8_t ReadMsr();

  void ReceiveLoopback(uint8_t byte);
  void Refill();
  void ClearRxFifo(Effects& fx);
  uint8_t ModemInputs() const;
  void SetModemInputs(uint8_t inputs);
  size_t FifoCapacity() const { return fifo_enabled_ ? kFifoSize : 1; }
  size_t InputSpaceLocked() const;
  uint8_t InterruptId() const;
  void UpdateIrq(Effects& fx);
  // Releases `lock` and runs the collected callbacks, in order.
  void Finish(std::unique_lock<std::mutex>& lock, const Effects& fx);
  void Deliver(const Effects& fx) const;

  const TxCallback tx_;
  const IrqCallback irq_;
  const size_t input_capacity_;

  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  // Held while running callbacks; taken before mu_ is released so callbacks
  // run in the order their events happened under mu_.
  std::mutex deliver_mu_;

  // Everything below is guarded by mu_.
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0c;  // not reset by the chip; 9600 baud, as a BIOS leaves it
  uint8_t dlm_ = 0;
  bool fifo_enabled_ = false;
  size_t rx_trigger_ = 1;
  bool overrun_ = false;
  bool thr_empty_pending_ = false;  // THRE interrupt latched
  uint8_t msr_inputs_;              // MSR bits 7:4
  uint8_t msr_deltas_ = 0;          // MSR bits 3:0
  uint8_t last_rx_ = 0;             // what RBR reads when the FIFO is empty
  struct RxByte {
    uint8_t value;
    bool from_host;  // false: looped back from the transmitter
  };
  std::deque<RxByte> rx_fifo_;      // guest-visible receiver FIFO / RBR
  std::deque<uint8_t> rx_backlog_;  // pushed by the host, not yet received
  bool irq_level_ = false;          // last level reported through irq_
  bool shutdown_ = false;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_UART16550_H_

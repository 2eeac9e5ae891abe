#include "guest/drivers/uart16550.h"

#include "guest/arch/arch.h"

namespace ssivm::guest {
namespace {

// Register offsets (DLAB = 0 unless noted).
constexpr uint16_t kThr = 0;  // transmit holding (write)
constexpr uint16_t kRbr = 0;  // receive buffer (read)
constexpr uint16_t kDll = 0;  // divisor latch low (DLAB = 1)
constexpr uint16_t kIer = 1;  // interrupt enable
constexpr uint16_t kDlm = 1;  // divisor latch high (DLAB = 1)
constexpr uint16_t kFcr = 2;  // FIFO control (write)
constexpr uint16_t kIir = 2;  // interrupt identification (read)
constexpr uint16_t kLcr = 3;  // line control
constexpr uint16_t kMcr = 4;  // modem control
constexpr uint16_t kLsr = 5;  // line status

constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLcr8N1 = 0x03;
constexpr uint8_t kFcrEnableClear = 0x07;  // enable, clear RX and TX FIFOs
constexpr uint8_t kMcrDtrRts = 0x03;
constexpr uint8_t kIirFifosEnabled = 0xc0;  // both bits: a working 16550A FIFO
constexpr uint8_t kLsrThrEmpty = 0x20;      // THR (and TX FIFO) empty
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint16_t kDivisor115200 = 1;  // 1.8432 MHz / 16 / 115200
constexpr uint8_t kTxFifoSize = 16;

}  // namespace

void Uart16550::Init() {
  arch::Outb(base_ + kIer, 0);
  arch::Outb(base_ + kLcr, kLcrDlab);
  arch::Outb(base_ + kDll, kDivisor115200 & 0xff);
  arch::Outb(base_ + kDlm, kDivisor115200 >> 8);
  arch::Outb(base_ + kLcr, kLcr8N1);
  arch::Outb(base_ + kFcr, kFcrEnableClear);
  arch::Outb(base_ + kMcr, kMcrDtrRts);
  // With a working FIFO, an empty transmitter takes 16 bytes per status read.
  fifo_depth_ = (arch::Inb(base_ + kIir) & kIirFifosEnabled) == kIirFifosEnabled ? kTxFifoSize : 1;
  room_ = 0;
}

void Uart16550::Put(uint8_t byte) {
  if (room_ == 0) {
    while ((arch::Inb(base_ + kLsr) & kLsrThrEmpty) == 0) arch::Pause();
    room_ = fifo_depth_;
  }
  arch::Outb(base_ + kThr, byte);
  --room_;
}

bool Uart16550::TryGet(uint8_t* byte) {
  if ((arch::Inb(base_ + kLsr) & kLsrDataReady) == 0) return false;
  *byte = arch::Inb(base_ + kRbr);
  return true;
}

void Uart16550::EnableRxInterrupt() {
  constexpr uint8_t kIerRxData = 0x01;
  arch::Outb(base_ + kIer, kIerRxData);
}

uint8_t Uart16550::Get() {
  while ((arch::Inb(base_ + kLsr) & kLsrDataReady) == 0) arch::Pause();
  return arch::Inb(base_ + kRbr);
}

}  // namespace ssivm::guest

// Register offsets and bits of the 16550A UART (from its datasheet).
#ifndef SSIVM_HYPERVISOR_DEVICES_UART16550_REGS_H_
#define SSIVM_HYPERVISOR_DEVICES_UART16550_REGS_H_

#include <cstdint>

namespace ssivm::uart {

// Register offsets from the UART's base port.
inline constexpr uint16_t kRbr = 0;  // read, DLAB=0: receiver buffer
inline constexpr uint16_t kThr = 0;  // write, DLAB=0: transmitter holding
inline constexpr uint16_t kDll = 0;  // DLAB=1: divisor latch, low byte
inline constexpr uint16_t kIer = 1;  // DLAB=0: interrupt enable
inline constexpr uint16_t kDlm = 1;  // DLAB=1: divisor latch, high byte
inline constexpr uint16_t kIir = 2;  // read: interrupt identification
inline constexpr uint16_t kFcr = 2;  // write: FIFO control
inline constexpr uint16_t kLcr = 3;  // line control
inline constexpr uint16_t kMcr = 4;  // modem control
inline constexpr uint16_t kLsr = 5;  // line status
inline constexpr uint16_t kMsr = 6;  // modem status
inline constexpr uint16_t kScr = 7;  // scratch
inline constexpr uint16_t kRegisterCount = 8;

// IER.
inline constexpr uint8_t kIerRxData = 0x01;       // ERBFI: received data / timeout
inline constexpr uint8_t kIerThrEmpty = 0x02;     // ETBEI: THR empty
inline constexpr uint8_t kIerLineStatus = 0x04;   // ELSI: receiver line status
inline constexpr uint8_t kIerModemStatus = 0x08;  // EDSSI: modem status
inline constexpr uint8_t kIerMask = 0x0f;

// IIR: bit 0 is set when nothing is pending; bits 3:1 name the source.
inline constexpr uint8_t kIirNoInterrupt = 0x01;
inline constexpr uint8_t kIirLineStatus = 0x06;
inline constexpr uint8_t kIirRxData = 0x04;
inline constexpr uint8_t kIirRxTimeout = 0x0c;
inline constexpr uint8_t kIirThrEmpty = 0x02;
inline constexpr uint8_t kIirModemStatus = 0x00;
inline constexpr uint8_t kIirIdMask = 0x0f;
inline constexpr uint8_t kIirFifoEnabled = 0xc0;

// FCR.
inline constexpr uint8_t kFcrEnable = 0x01;
inline constexpr uint8_t kFcrClearRx = 0x02;
inline constexpr uint8_t kFcrClearTx = 0x04;
inline constexpr uint8_t kFcrTrigger1 = 0x00;
inline constexpr uint8_t kFcrTrigger4 = 0x40;
inline constexpr uint8_t kFcrTrigger8 = 0x80;
inline constexpr uint8_t kFcrTrigger14 = 0xc0;

// LCR.
inline constexpr uint8_t kLcrDlab = 0x80;

// MCR.
inline constexpr uint8_t kMcrDtr = 0x01;
inline constexpr uint8_t kMcrRts = 0x02;
inline constexpr uint8_t kMcrOut1 = 0x04;
inline constexpr uint8_t kMcrOut2 = 0x08;
inline constexpr uint8_t kMcrLoop = 0x10;
inline constexpr uint8_t kMcrMask = 0x1f;

// LSR.
inline constexpr uint8_t kLsrDataReady = 0x01;
inline constexpr uint8_t kLsrOverrun = 0x02;
inline constexpr uint8_t kLsrThrEmpty = 0x20;
inline constexpr uint8_t kLsrTxEmpty = 0x40;

// MSR: bits 3:0 are deltas (cleared by reading MSR), bits 7:4 the inputs.
inline constexpr uint8_t kMsrDeltaCts = 0x01;
inline constexpr uint8_t kMsrDeltaDsr = 0x02;
inline constexpr uint8_t kMsrTrailingRi = 0x04;
inline constexpr uint8_t kMsrDeltaDcd = 0x08;
inline constexpr uint8_t kMsrDeltaMask = 0x0f;
inline constexpr uint8_t kMsrCts = 0x10;
inline constexpr uint8_t kMsrDsr = 0x20;
inline constexpr uint8_t kMsrRi = 0x40;
inline constexpr uint8_t kMsrDcd = 0x80;

}  // namespace ssivm::uart

#endif  // SSIVM_HYPERVISOR_DEVICES_UART16550_REGS_H_

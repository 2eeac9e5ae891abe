#include "hypervisor/devices/uart16550.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "hypervisor/devices/uart16550_regs.h"

namespace ssivm {
namespace {

using namespace uart;  // NOLINT(build/namespaces): register names
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

class UartTest : public ::testing::Test {
 protected:
  explicit UartTest(size_t capacity = Uart16550::kDefaultInputCapacity)
      : uart_(
            [this](std::span<const uint8_t> bytes) {
              tx_.insert(tx_.end(), bytes.begin(), bytes.end());
              for (uint8_t b : bytes) log_ += std::string("tx:") + static_cast<char>(b) + " ";
            },
            [this](bool level) {
              irqs_.push_back(level);
              log_ += level ? "irq:1 " : "irq:0 ";
            },
            capacity) {}

  uint8_t Rd(uint16_t offset) { return static_cast<uint8_t>(uart_.Read(offset, 1)); }
  void Wr(uint16_t offset, uint8_t value) { uart_.Write(offset, 1, value); }
  size_t Push(std::string_view s) { return uart_.PushInput(Bytes(s)); }
  std::string Drain() {
    std::string out;
    while ((Rd(kLsr) & kLsrDataReady) != 0) out += static_cast<char>(Rd(kRbr));
    return out;
  }
  // Takes the irq events seen so far.
  std::vector<bool> TakeIrqs() { return std::exchange(irqs_, {}); }
  std::string TakeLog() { return std::exchange(log_, {}); }

  std::vector<uint8_t> tx_;
  std::vector<bool> irqs_;
  std::string log_;
  Uart16550 uart_;
};

class SmallUartTest : public UartTest {
 protected:
  SmallUartTest() : UartTest(8) {}
};

TEST_F(UartTest, ResetValues) {
  EXPECT_EQ(Rd(kRbr), 0x00);
  EXPECT_EQ(Rd(kIer), 0x00);
  EXPECT_EQ(Rd(kIir), 0x01);
  EXPECT_EQ(Rd(kLcr), 0x00);
  EXPECT_EQ(Rd(kMcr), 0x00);
  EXPECT_EQ(Rd(kLsr), 0x60);
  EXPECT_EQ(Rd(kMsr), 0xb0);  // CTS, DSR, DCD asserted; no deltas
  EXPECT_EQ(Rd(kScr), 0x00);
  EXPECT_FALSE(uart_.irq_level());
  EXPECT_TRUE(irqs_.empty());
  EXPECT_TRUE(tx_.empty());
  EXPECT_EQ(uart_.InputSpace(), Uart16550::kDefaultInputCapacity);
}

TEST_F(UartTest, DivisorLatchesBehindDlab) {
  Wr(kIer, kIerRxData | kIerLineStatus);
  Wr(kLcr, kLcrDlab | 0x03);
  Wr(kDll, 0x01);
  Wr(kDlm, 0x02);
  EXPECT_EQ(Rd(kDll), 0x01);
  EXPECT_EQ(Rd(kDlm), 0x02);
  EXPECT_EQ(Rd(kLcr), 0x83);
  EXPECT_EQ(Rd(kIir), 0x01);  // IIR, LSR, ... are not banked
  EXPECT_EQ(Rd(kLsr), 0x60);
  EXPECT_TRUE(tx_.empty());  // the DLL write did not transmit

  Wr(kLcr, 0x03);
  EXPECT_EQ(Rd(kIer), kIerRxData | kIerLineStatus);  // IER untouched by DLM write
  Wr(kThr, 'z');
  EXPECT_EQ(tx_, Bytes("z"));
  Wr(kLcr, kLcrDlab);
  EXPECT_EQ(Rd(kDll), 0x01);
  EXPECT_EQ(Rd(kDlm), 0x02);
}

TEST_F(UartTest, DlabHidesReceiveBuffer) {
  Push("q");
  Wr(kLcr, kLcrDlab);
  EXPECT_NE(Rd(kRbr), 'q');  // reads DLL
  EXPECT_EQ(Rd(kLsr) & kLsrDataReady, kLsrDataReady);
  Wr(kLcr, 0);
  EXPECT_EQ(Rd(kRbr), 'q');
}

TEST_F(UartTest, ScratchRegister) {
  for (int v : {0x00, 0x5a, 0xa5, 0xff}) {
    Wr(kScr, static_cast<uint8_t>(v));
    EXPECT_EQ(Rd(kScr), v);
  }
}

TEST_F(UartTest, RegisterWriteMasks) {
  Wr(kIer, 0xff);
  EXPECT_EQ(Rd(kIer), 0x0f);
  Wr(kMcr, 0xff);
  EXPECT_EQ(Rd(kMcr), 0x1f);
  Wr(kLcr, 0x7f);
  EXPECT_EQ(Rd(kLcr), 0x7f);
  // LSR and MSR are read-only.
  Wr(kMcr, 0);
  Rd(kMsr);
  Wr(kLsr, 0xff);
  Wr(kMsr, 0xff);
  EXPECT_EQ(Rd(kLsr), 0x60);
  EXPECT_EQ(Rd(kMsr), 0xb0);
}

TEST_F(UartTest, TransmitCallsTx) {
  for (char c : std::string("hi\n")) Wr(kThr, static_cast<uint8_t>(c));
  EXPECT_EQ(tx_, Bytes("hi\n"));
  EXPECT_EQ(Rd(kLsr), kLsrThrEmpty | kLsrTxEmpty);
  EXPECT_TRUE(irqs_.empty());  // THRE interrupt not enabled
}

TEST_F(UartTest, ThrEmptyInterruptOnEnableClearedByIirRead) {
  Wr(kIer, kIerThrEmpty);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{true});
  EXPECT_EQ(Rd(kIir), kIirThrEmpty);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{false});
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);
  EXPECT_TRUE(irqs_.empty());

  // Transmission (instant) empties THR again.
  TakeLog();
  Wr(kThr, 'a');
  EXPECT_EQ(TakeLog(), "tx:a irq:1 ");
  EXPECT_EQ(Rd(kIir), kIirThrEmpty);
  EXPECT_FALSE(uart_.irq_level());
}

TEST_F(UartTest, ThrWriteWhilePendingPulsesTheLine) {
  Wr(kIer, kIerThrEmpty);
  TakeLog();
  Wr(kThr, 'a');
  Wr(kThr, 'b');
  EXPECT_EQ(TakeLog(), "irq:0 tx:a irq:1 irq:0 tx:b irq:1 ");
  EXPECT_TRUE(uart_.irq_level());
}

TEST_F(UartTest, ThrEmptyReassertedWhenReEnabled) {
  Wr(kIer, kIerThrEmpty);
  EXPECT_EQ(Rd(kIir), kIirThrEmpty);
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);
  // Rewriting the same enable bits does not re-arm it...
  Wr(kIer, kIerThrEmpty);
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);
  // ...but a 0 -> 1 transition does (THR is idle).
  Wr(kIer, 0);
  Wr(kIer, kIerThrEmpty);
  EXPECT_EQ(Rd(kIir), kIirThrEmpty);
  EXPECT_EQ(TakeIrqs(), (std::vector<bool>{true, false, true, false}));
}

TEST_F(UartTest, DisablingInterruptLowersLine) {
  Wr(kIer, kIerThrEmpty);
  Wr(kIer, 0);
  EXPECT_EQ(TakeIrqs(), (std::vector<bool>{true, false}));
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);
}

TEST_F(UartTest, ReceiveIn16450Mode) {
  EXPECT_EQ(Push("ab"), 2u);
  EXPECT_EQ(Rd(kLsr), kLsrDataReady | kLsrThrEmpty | kLsrTxEmpty);
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);  // not enabled
  EXPECT_TRUE(irqs_.empty());

  Wr(kIer, kIerRxData);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{true});
  EXPECT_EQ(Rd(kIir), kIirRxData);
  EXPECT_EQ(Rd(kRbr), 'a');
  // 'b' moves into RBR at once: the line stays high, no callback.
  EXPECT_TRUE(irqs_.empty());
  EXPECT_EQ(Rd(kIir), kIirRxData);
  EXPECT_EQ(Rd(kRbr), 'b');
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{false});
  EXPECT_EQ(Rd(kLsr), 0x60);
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);
  EXPECT_EQ(Rd(kRbr), 'b');  // an empty RBR repeats the last byte
}

TEST_F(UartTest, ReceiveRaisesIrqWhenEnabledAndLowersWhenDrained) {
  Wr(kFcr, kFcrEnable | kFcrTrigger8);
  Wr(kIer, kIerRxData);
  EXPECT_TRUE(irqs_.empty());
  Push("hello");
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{true});
  EXPECT_EQ(Drain(), "hello");
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{false});
  EXPECT_EQ(Rd(kIir), kIirFifoEnabled | kIirNoInterrupt);
}

TEST_F(UartTest, FifoTriggerLevelsAndTimeout) {
  struct Case {
    uint8_t fcr;
    size_t trigger;
  };
  for (Case c : {Case{kFcrTrigger1, 1}, Case{kFcrTrigger4, 4}, Case{kFcrTrigger8, 8},
                 Case{kFcrTrigger14, 14}}) {
    SCOPED_TRACE(c.trigger);
    Wr(kFcr, kFcrEnable | kFcrClearRx | c.fcr);
    Wr(kIer, kIerRxData);
    EXPECT_EQ(Rd(kIir), 0xc1);
    for (size_t i = 1; i < c.trigger; ++i) {
      Push("x");
      EXPECT_EQ(Rd(kIir), 0xc0 | kIirRxTimeout) << i;
    }
    Push("x");
    EXPECT_EQ(Rd(kIir), 0xc0 | kIirRxData);
    Push("x");
    EXPECT_EQ(Rd(kIir), 0xc0 | kIirRxData);
    Rd(kRbr);
    Rd(kRbr);
    if (c.trigger > 1) {
      EXPECT_EQ(Rd(kIir), 0xc0 | kIirRxTimeout);
    }
    Drain();
    EXPECT_EQ(Rd(kIir), 0xc1);
    EXPECT_FALSE(uart_.irq_level());
  }
}

TEST_F(UartTest, FifoHolds16AndBacklogFollowsInOrder) {
  Wr(kFcr, kFcrEnable | kFcrTrigger14);
  std::string input;
  for (int i = 0; i < 40; ++i) input += static_cast<char>('A' + i);
  EXPECT_EQ(Push(input), 40u);
  EXPECT_EQ(uart_.InputSpace(), Uart16550::kDefaultInputCapacity - 40);
  EXPECT_EQ(Drain(), input);
  EXPECT_EQ(uart_.InputSpace(), Uart16550::kDefaultInputCapacity);
}

TEST_F(UartTest, FifoClearKeepsUnreadConsoleInput) {
  // A driver resets the FIFO while initialising; what the user typed before
  // that must still arrive.
  Wr(kFcr, kFcrEnable);
  Push("abc");
  Wr(kFcr, kFcrEnable | kFcrClearRx);
  EXPECT_EQ(Rd(kLsr) & kLsrDataReady, kLsrDataReady);
  std::string input;
  for (int i = 0; i < 20; ++i) input += static_cast<char>('d' + i);
  Push(input);
  Wr(kFcr, kFcrEnable | kFcrClearRx | kFcrClearTx);
  EXPECT_EQ(Drain(), "abc" + input);
  EXPECT_EQ(Rd(kLsr), 0x60);  // transmitter still idle
  EXPECT_EQ(uart_.InputSpace(), Uart16550::kDefaultInputCapacity);
}

TEST_F(UartTest, FifoClearDropsLoopbackBytes) {
  Wr(kFcr, kFcrEnable);
  Wr(kMcr, kMcrLoop);
  Wr(kThr, 'x');
  EXPECT_EQ(Rd(kLsr) & kLsrDataReady, kLsrDataReady);
  Wr(kFcr, kFcrEnable | kFcrClearRx);
  EXPECT_EQ(Rd(kLsr) & kLsrDataReady, 0);
}

TEST_F(UartTest, FifoModeSwitchShowsInIirAndKeepsInput) {
  Wr(kFcr, kFcrEnable);
  EXPECT_EQ(Rd(kIir), 0xc1);
  Push("abc");
  Wr(kFcr, 0);  // back to 16450 mode
  EXPECT_EQ(Rd(kIir) & 0xc0, 0);
  Push("d");
  Wr(kFcr, kFcrEnable);
  EXPECT_EQ(Rd(kIir) & 0xc0, 0xc0);
  EXPECT_EQ(Drain(), "abcd");
}

TEST_F(UartTest, FcrBitsIgnoredWithoutEnable) {
  Push("a");
  Wr(kFcr, kFcrClearRx | kFcrTrigger14);
  EXPECT_EQ(Rd(kIir), 0x01);
  EXPECT_EQ(Drain(), "a");
}

TEST_F(UartTest, LoopbackReturnsTransmittedBytes) {
  Wr(kMcr, kMcrLoop);
  Wr(kThr, 'x');
  EXPECT_TRUE(tx_.empty());
  EXPECT_EQ(Rd(kLsr), kLsrDataReady | kLsrThrEmpty | kLsrTxEmpty);
  EXPECT_EQ(Rd(kRbr), 'x');

  Wr(kFcr, kFcrEnable);
  for (char c : std::string("loop")) Wr(kThr, static_cast<uint8_t>(c));
  EXPECT_EQ(Drain(), "loop");
  EXPECT_TRUE(tx_.empty());

  Wr(kMcr, 0);
  Wr(kThr, 'y');
  EXPECT_EQ(tx_, Bytes("y"));
  EXPECT_EQ(Rd(kLsr) & kLsrDataReady, 0);
}

TEST_F(UartTest, LoopbackModemInputsFollowOutputs) {
  // The pattern Linux's autoconfig checks: RTS|OUT2 -> CTS|DCD.
  Wr(kMcr, kMcrLoop | kMcrRts | kMcrOut2);
  EXPECT_EQ(Rd(kMsr) & 0xf0, kMsrCts | kMsrDcd);
  Wr(kMcr, kMcrLoop | kMcrDtr | kMcrOut1);
  EXPECT_EQ(Rd(kMsr) & 0xf0, kMsrDsr | kMsrRi);
  Wr(kMcr, kMcrLoop | 0x0f);
  EXPECT_EQ(Rd(kMsr) & 0xf0, 0xf0);
  Wr(kMcr, kMcrLoop);
  EXPECT_EQ(Rd(kMsr) & 0xf0, 0x00);
  Wr(kMcr, 0);
  EXPECT_EQ(Rd(kMsr) & 0xf0, 0xb0);  // the modem's inputs again
}

TEST_F(UartTest, ModemStatusDeltasAndInterrupt) {
  Wr(kIer, kIerModemStatus);
  EXPECT_TRUE(irqs_.empty());
  // Entering loopback with all outputs off drops CTS, DSR and DCD.
  Wr(kMcr, kMcrLoop);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{true});
  EXPECT_EQ(Rd(kIir), kIirModemStatus);
  EXPECT_EQ(Rd(kMsr), kMsrDeltaCts | kMsrDeltaDsr | kMsrDeltaDcd);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{false});
  EXPECT_EQ(Rd(kMsr), 0x00);

  // RI: the leading edge sets no delta, the trailing edge sets TERI.
  Wr(kMcr, kMcrLoop | kMcrOut1);
  EXPECT_EQ(Rd(kMsr), kMsrRi);
  Wr(kMcr, kMcrLoop);
  EXPECT_EQ(Rd(kMsr), kMsrTrailingRi);
  // CTS alone.
  Wr(kMcr, kMcrLoop | kMcrRts);
  EXPECT_EQ(Rd(kMsr), kMsrCts | kMsrDeltaCts);
  EXPECT_EQ(TakeIrqs(), (std::vector<bool>{true, false, true, false}));
}

TEST_F(UartTest, OverrunIn16450ModeClearedByLsrRead) {
  Wr(kIer, kIerLineStatus);
  Wr(kMcr, kMcrLoop);
  Wr(kThr, '1');
  EXPECT_TRUE(irqs_.empty());
  Wr(kThr, '2');  // RBR not read: overrun, '2' replaces '1'
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{true});
  EXPECT_EQ(Rd(kIir), kIirLineStatus);
  EXPECT_EQ(Rd(kLsr), kLsrDataReady | kLsrOverrun | kLsrThrEmpty | kLsrTxEmpty);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{false});
  EXPECT_EQ(Rd(kLsr), kLsrDataReady | kLsrThrEmpty | kLsrTxEmpty);
  EXPECT_EQ(Rd(kRbr), '2');
}

TEST_F(UartTest, OverrunInFifoModeDropsNewByte) {
  Wr(kFcr, kFcrEnable);
  Wr(kMcr, kMcrLoop);
  std::string sent;
  for (int i = 0; i < 17; ++i) {
    sent += static_cast<char>('a' + i);
    Wr(kThr, static_cast<uint8_t>(sent.back()));
  }
  EXPECT_EQ(Rd(kLsr) & kLsrOverrun, kLsrOverrun);
  EXPECT_EQ(Rd(kLsr) & kLsrOverrun, 0);
  EXPECT_EQ(Drain(), sent.substr(0, 16));
}

TEST_F(UartTest, LoopbackHoldsHostInputUntilItEnds) {
  Wr(kMcr, kMcrLoop);
  EXPECT_EQ(Push("h"), 1u);
  EXPECT_EQ(Rd(kLsr) & kLsrDataReady, 0);
  Wr(kThr, 'L');
  EXPECT_EQ(Drain(), "L");
  Wr(kMcr, kMcrDtr | kMcrRts | kMcrOut2);
  EXPECT_EQ(Drain(), "h");
}

TEST_F(UartTest, InterruptPriority) {
  Wr(kIer, kIerRxData | kIerThrEmpty | kIerLineStatus | kIerModemStatus);
  Wr(kMcr, kMcrLoop);  // modem status deltas
  Wr(kThr, '1');
  Wr(kThr, '2');  // overrun; THRE pending again after the write
  EXPECT_EQ(Rd(kIir), kIirLineStatus);
  Rd(kLsr);
  EXPECT_EQ(Rd(kIir), kIirRxData);
  Rd(kRbr);
  EXPECT_EQ(Rd(kIir), kIirThrEmpty);  // this read clears it
  EXPECT_EQ(Rd(kIir), kIirModemStatus);
  Rd(kMsr);
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);
  EXPECT_FALSE(uart_.irq_level());
}

TEST_F(UartTest, IirReadDoesNotClearThreWhenNotReported) {
  Wr(kIer, kIerRxData | kIerThrEmpty);
  Push("a");
  EXPECT_EQ(Rd(kIir), kIirRxData);
  Rd(kRbr);
  EXPECT_EQ(Rd(kIir), kIirThrEmpty);
  EXPECT_EQ(Rd(kIir), kIirNoInterrupt);
}

TEST_F(UartTest, NoCallbackWhenLevelUnchanged) {
  Wr(kIer, kIerRxData);
  Push("a");
  Push("b");
  Wr(kIer, kIerRxData | kIerThrEmpty);  // another source, line already high
  Rd(kIir);                             // reports RX data; clears nothing
  Wr(kScr, 1);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{true});
  Wr(kIer, 0);
  Wr(kIer, 0);
  EXPECT_EQ(TakeIrqs(), std::vector<bool>{false});
}

TEST_F(UartTest, MultiByteAccessesAreByteSequences) {
  uart_.Write(kLcr, 2, 0x0b03);  // LCR = 0x03, MCR = 0x0b
  EXPECT_EQ(Rd(kLcr), 0x03);
  EXPECT_EQ(Rd(kMcr), 0x0b);
  Wr(kScr, 0x5a);
  EXPECT_EQ(uart_.Read(kLsr, 4), 0xff5ab060u);  // LSR, MSR, SCR, past the end
  uart_.Write(kScr, 4, 0xffffff11);             // bytes past the end ignored
  EXPECT_EQ(Rd(kScr), 0x11);
  uart_.Write(kThr, 2, 0x0000'6968);  // THR 'h' then IER 0
  EXPECT_EQ(tx_, Bytes("h"));
}

TEST_F(UartTest, LinuxStyleProbe) {
  // IER holds its low four bits.
  Wr(kIer, 0);
  EXPECT_EQ(Rd(kIer) & 0x0f, 0);
  Wr(kIer, 0x0f);
  EXPECT_EQ(Rd(kIer) & 0x0f, 0x0f);
  Wr(kIer, 0);
  // Loopback check.
  Wr(kMcr, kMcrLoop | kMcrRts | kMcrOut2);
  EXPECT_EQ(Rd(kMsr) & 0xf0, 0x90);
  Wr(kMcr, 0);
  // FIFO identification: 16550A.
  Wr(kFcr, kFcrEnable);
  EXPECT_EQ(Rd(kIir) >> 6, 3);
  // No 64-byte FIFO bit, no EFR behind LCR=0xbf (IIR reads non-zero).
  Wr(kLcr, 0xbf);
  EXPECT_NE(Rd(kIir), 0);
  EXPECT_EQ(Rd(kIir) & 0x30, 0);
  Wr(kLcr, 0x03);
  // Enabling the THRE interrupt with an idle transmitter makes it pending.
  Wr(kIer, kIerThrEmpty);
  const uint8_t lsr = Rd(kLsr);
  const uint8_t iir = Rd(kIir);
  Wr(kIer, 0);
  EXPECT_NE(lsr & kLsrTxEmpty, 0);
  EXPECT_EQ(iir & kIirNoInterrupt, 0);
}

TEST_F(SmallUartTest, BoundedInput) {
  EXPECT_EQ(uart_.InputSpace(), 8u);
  EXPECT_EQ(Push("0123456789"), 8u);
  EXPECT_EQ(uart_.InputSpace(), 0u);
  EXPECT_EQ(Push("89"), 0u);
  EXPECT_FALSE(uart_.WaitForInputSpace(milliseconds(1)));
  EXPECT_EQ(Rd(kRbr), '0');
  EXPECT_EQ(uart_.InputSpace(), 1u);
  EXPECT_TRUE(uart_.WaitForInputSpace(milliseconds(0)));
  EXPECT_EQ(Push("89"), 1u);
  EXPECT_EQ(Drain(), "12345678");
}

TEST_F(SmallUartTest, WaitForInputSpaceWakesAfterRead) {
  Push("01234567");
  std::atomic<bool> woke{false};
  const auto start = steady_clock::now();
  std::thread waiter([&] {
    EXPECT_TRUE(uart_.WaitForInputSpace(milliseconds(10'000)));
    woke = true;
  });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(woke.load());
  Rd(kRbr);
  waiter.join();
  EXPECT_TRUE(woke.load());
  EXPECT_LT(steady_clock::now() - start, milliseconds(5'000));
}

TEST_F(SmallUartTest, WaitForInputSpaceTimesOut) {
  Push("01234567");
  const auto start = steady_clock::now();
  EXPECT_FALSE(uart_.WaitForInputSpace(milliseconds(30)));
  EXPECT_GE(steady_clock::now() - start, milliseconds(30));
}

TEST_F(SmallUartTest, ShutdownWakesWaiters) {
  Push("01234567");
  const auto start = steady_clock::now();
  std::thread waiter([&] { EXPECT_FALSE(uart_.WaitForInputSpace(milliseconds(10'000))); });
  std::this_thread::sleep_for(milliseconds(10));
  uart_.Shutdown();
  waiter.join();
  EXPECT_LT(steady_clock::now() - start, milliseconds(5'000));
  // Later waits return at once.
  EXPECT_FALSE(uart_.WaitForInputSpace(milliseconds(10'000)));
}

TEST(UartConstructionTest, ZeroCapacityRejected) {
  EXPECT_THROW(Uart16550(nullptr, nullptr, 0), Error);
}

TEST(UartConstructionTest, EmptyCallbacksAllowed) {
  Uart16550 uart(nullptr, nullptr);
  uart.Write(kIer, 1, kIerThrEmpty);
  uart.Write(kThr, 1, 'x');
  EXPECT_TRUE(uart.irq_level());
}

// A console thread streams input while a vCPU thread reads it with
// interrupts on: every byte arrives once, in order, and the irq callback
// sees strictly alternating levels.
TEST(UartConcurrencyTest, ProducerAndConsumer) {
  std::mutex mu;
  std::vector<bool> levels;
  Uart16550 uart(
      nullptr,
      [&](bool level) {
        std::lock_guard lock(mu);
        levels.push_back(level);
      },
      64);
  uart.Write(kFcr, 1, kFcrEnable | kFcrTrigger8);
  uart.Write(kIer, 1, kIerRxData);

  constexpr size_t kTotal = 200'000;
  std::thread producer([&] {
    std::vector<uint8_t> chunk(97);
    size_t sent = 0;
    while (sent < kTotal) {
      const size_t n = std::min(chunk.size(), kTotal - sent);
      for (size_t i = 0; i < n; ++i) chunk[i] = static_cast<uint8_t>((sent + i) * 7);
      size_t done = 0;
      while (done < n) {
        done += uart.PushInput(std::span(chunk).subspan(done, n - done));
        if (done < n) uart.WaitForInputSpace(milliseconds(100));
      }
      sent += n;
    }
  });
  size_t received = 0;
  bool in_order = true;
  while (received < kTotal) {
    if ((uart.Read(kLsr, 1) & kLsrDataReady) == 0) continue;
    const auto b = static_cast<uint8_t>(uart.Read(kRbr, 1));
    in_order = in_order && b == static_cast<uint8_t>(received * 7);
    ++received;
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(uart.Read(kLsr, 1) & kLsrDataReady, 0u);
  EXPECT_FALSE(uart.irq_level());

  std::lock_guard lock(mu);
  ASSERT_FALSE(levels.empty());
  EXPECT_TRUE(levels.front());
  EXPECT_FALSE(levels.back());
  for (size_t i = 1; i < levels.size(); ++i) ASSERT_NE(levels[i], levels[i - 1]) << i;
}

}  // namespace
}  // namespace ssivm

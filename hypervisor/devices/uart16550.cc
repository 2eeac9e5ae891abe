#include "hypervisor/devices/uart16550.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <utility>

#include "common/error.h"
#include "hypervisor/devices/uart16550_regs.h"

namespace ssivm {

using namespace uart;  // NOLINT(build/namespaces): register names

// What one call did that the outside world must hear about, in order.
struct Uart16550::Effects {
  struct Event {
    bool is_irq;
    uint8_t value;  // the byte transmitted, or the new irq level
  };
  // One register byte access yields at most three events (THR write: irq
  // low, tx, irq high); an access is at most 4 bytes.
  static constexpr size_t kMaxEvents = size_t{4} * 3;

  std::array<Event, kMaxEvents> events;
  size_t count = 0;
  bool space_freed = false;

  void Add(bool is_irq, uint8_t value) {
    assert(count < kMaxEvents);
    events[count++] = Event{is_irq, value};
  }
};

Uart16550::Uart16550(TxCallback tx, IrqCallback irq, size_t input_capacity)
    : tx_(std::move(tx)), irq_(std::move(irq)), input_capacity_(input_capacity) {
  if (input_capacity_ == 0) throw Error("16550 UART: input capacity must be at least 1 byte");
  msr_inputs_ = ModemInputs();
}

uint32_t Uart16550::Read(uint16_t offset, uint8_t size) {
  Effects fx;
  std::unique_lock lock(mu_);
  uint32_t value = 0;
  for (uint32_t i = 0; i < size && i < 4; ++i) {
    const uint32_t reg = uint32_t{offset} + i;
    const uint8_t byte =
        reg < kRegisterCount ? ReadRegister(static_cast<uint16_t>(reg), fx) : uint8_t{0xff};
    value |= uint32_t{byte} << (8 * i);
  }
  Finish(lock, fx);
  return value;
}

void Uart16550::Write(uint16_t offset, uint8_t size, uint32_t value) {
  Effects fx;
  std::unique_lock lock(mu_);
  for (uint32_t i = 0; i < size && i < 4; ++i) {
    const uint32_t reg = uint32_t{offset} + i;
    if (reg < kRegisterCount) {
      WriteRegister(static_cast<uint16_t>(reg), static_cast<uint8_t>(value >> (8 * i)), fx);
    }
  }
  Finish(lock, fx);
}

uint8_t Uart16550::ReadRegister(uint16_t offset, Effects& fx) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  uint8_t value = 0;
  switch (offset) {
    case kRbr:
      value = dlab ? dll_ : ReadRbr(fx);
      break;
    case kIer:
      value = dlab ? dlm_ : ier_;
      break;
    case kIir:
      value = ReadIir();
      break;
    case kLcr:
      value = lcr_;
      break;
    case kMcr:
      value = mcr_;
      break;
    case kLsr:
      value = ReadLsr();
      break;
    case kMsr:
      value = ReadMsr();
      break;
    case kScr:
      value = scr_;
      break;
  }
  UpdateIrq(fx);
  return value;
}

void Uart16550::WriteRegister(uint16_t offset, uint8_t value, Effects& fx) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kThr:
      if (dlab) {
        dll_ = value;
      } else {
        WriteThr(value, fx);
      }
      break;
    case kIer:
      if (dlab) {
        dlm_ = value;
      } else {
        WriteIer(value);
      }
      break;
    case kFcr:
      WriteFcr(value, fx);
      break;
    case kLcr:
      lcr_ = value;
      break;
    case kMcr:
      WriteMcr(value);
      break;
    case kLsr:  // read-only (a factory test register on the real chip)
    case kMsr:  // read-only
      break;
    case kScr:
      scr_ = value;
      break;
  }
  UpdateIrq(fx);
}

void Uart16550::WriteThr(uint8_t byte, Effects& fx) {
  // The write clears the THRE interrupt...
  thr_empty_pending_ = false;
  UpdateIrq(fx);
  if ((mcr_ & kMcrLoop) != 0) {
    ReceiveLoopback(byte);
  } else {
    fx.Add(false, byte);
  }
  // ...and the byte leaves at once, emptying THR again.
  thr_empty_pending_ = true;
}

void Uart16550::WriteIer(uint8_t value) {
  const uint8_t old = ier_;
  ier_ = value & kIerMask;
  // THR is always empty, so enabling its interrupt makes it pending.
  if ((old & kIerThrEmpty) == 0 && (ier_ & kIerThrEmpty) != 0) thr_empty_pending_ = true;
}

void Uart16550::WriteFcr(uint8_t value, Effects& fx) {
  const bool enable = (value & kFcrEnable) != 0;
  if (enable != fifo_enabled_) {
    // Switching between 16450 and FIFO mode empties the FIFOs.
    fifo_enabled_ = enable;
    ClearRxFifo(fx);
  }
  // The other bits are only written together with FCR bit 0.
  if (!enable) return;
  if ((value & kFcrClearRx) != 0) ClearRxFifo(fx);
  // kFcrClearTx: the transmitter FIFO never holds anything here.
  static constexpr std::array<size_t, 4> kTriggers = {1, 4, 8, 14};
  rx_trigger_ = kTriggers[value >> 6];
}

void Uart16550::WriteMcr(uint8_t value) {
  const bool was_loopback = (mcr_ & kMcrLoop) != 0;
  mcr_ = value & kMcrMask;
  SetModemInputs(ModemInputs());
  // The serial input is connected again: queued host bytes arrive.
  if (was_loopback && (mcr_ & kMcrLoop) == 0) Refill();
}

uint8_t Uart16550::ReadRbr(Effects& fx) {
  if (!rx_fifo_.empty()) {
    last_rx_ = rx_fifo_.front().value;
    rx_fifo_.pop_front();
    Refill();
    fx.space_freed = true;
  }
  return last_rx_;
}

uint8_t Uart16550::ReadIir() {
  const uint8_t id = InterruptId();
  if (id == kIirThrEmpty) thr_empty_pending_ = false;
  return id | (fifo_enabled_ ? kIirFifoEnabled : uint8_t{0});
}

uint8_t Uart16550::ReadLsr() {
  uint8_t value = kLsrThrEmpty | kLsrTxEmpty;
  if (!rx_fifo_.empty()) value |= kLsrDataReady;
  if (overrun_) value |= kLsrOverrun;
  overrun_ = false;
  return value;
}

uint8_t Uart16550::ReadMsr() {
  const uint8_t value = msr_inputs_ | msr_deltas_;
  msr_deltas_ = 0;
  return value;
}

void Uart16550::ReceiveLoopback(uint8_t byte) {
  if (rx_fifo_.size() < FifoCapacity()) {
    rx_fifo_.push_back({byte, false});
    return;
  }
  overrun_ = true;
  // 16450 mode: the new byte replaces the unread one. FIFO mode: it is lost.
  if (!fifo_enabled_) rx_fifo_.back() = {byte, false};
}

void Uart16550::Refill() {
  if ((mcr_ & kMcrLoop) != 0) return;  // serial input disconnected
  while (rx_fifo_.size() < FifoCapacity() && !rx_backlog_.empty()) {
    rx_fifo_.push_back({rx_backlog_.front(), true});
    rx_backlog_.pop_front();
  }
}

void Uart16550::ClearRxFifo(Effects& fx) {
  // Console input the guest has not read goes back on the wire instead of
  // being dropped: drivers reset the FIFO while initialising, and what the
  // user typed before that must not be lost. Loopback bytes are dropped.
  // NOLINTNEXTLINE(modernize-loop-convert): clang 14 cannot compile libstdc++ 12's reverse_view
  for (auto it = rx_fifo_.rbegin(); it != rx_fifo_.rend(); ++it) {
    if (it->from_host) {
      rx_backlog_.push_front(it->value);
    } else {
      fx.space_freed = true;
    }
  }
  rx_fifo_.clear();
  Refill();
}

uint8_t Uart16550::ModemInputs() const {
  if ((mcr_ & kMcrLoop) == 0) return kMsrCts | kMsrDsr | kMsrDcd;
  uint8_t inputs = 0;
  if ((mcr_ & kMcrRts) != 0) inputs |= kMsrCts;
  if ((mcr_ & kMcrDtr) != 0) inputs |= kMsrDsr;
  if ((mcr_ & kMcrOut1) != 0) inputs |= kMsrRi;
  if ((mcr_ & kMcrOut2) != 0) inputs |= kMsrDcd;
  return inputs;
}

void Uart16550::SetModemInputs(uint8_t inputs) {
  const uint8_t changed = msr_inputs_ ^ inputs;
  if ((changed & kMsrCts) != 0) msr_deltas_ |= kMsrDeltaCts;
  if ((changed & kMsrDsr) != 0) msr_deltas_ |= kMsrDeltaDsr;
  if ((changed & kMsrDcd) != 0) msr_deltas_ |= kMsrDeltaDcd;
  // RI reports only its trailing edge (asserted -> deasserted).
  if ((msr_inputs_ & kMsrRi) != 0 && (inputs & kMsrRi) == 0) msr_deltas_ |= kMsrTrailingRi;
  msr_inputs_ = inputs;
}

uint8_t Uart16550::InterruptId() const {
  if ((ier_ & kIerLineStatus) != 0 && overrun_) return kIirLineStatus;
  if ((ier_ & kIerRxData) != 0 && !rx_fifo_.empty()) {
    if (!fifo_enabled_ || rx_fifo_.size() >= rx_trigger_) return kIirRxData;
    return kIirRxTimeout;
  }
  if ((ier_ & kIerThrEmpty) != 0 && thr_empty_pending_) return kIirThrEmpty;
  if ((ier_ & kIerModemStatus) != 0 && msr_deltas_ != 0) return kIirModemStatus;
  return kIirNoInterrupt;
}

void Uart16550::UpdateIrq(Effects& fx) {
  const bool level = InterruptId() != kIirNoInterrupt;
  if (level == irq_level_) return;
  irq_level_ = level;
  fx.Add(true, level ? 1 : 0);
}

size_t Uart16550::InputSpaceLocked() const {
  const size_t held = rx_fifo_.size() + rx_backlog_.size();
  return held >= input_capacity_ ? 0 : input_capacity_ - held;
}

size_t Uart16550::PushInput(std::span<const uint8_t> bytes) {
  Effects fx;
  std::unique_lock lock(mu_);
  const size_t n = std::min(bytes.size(), InputSpaceLocked());
  const std::span<const uint8_t> accepted = bytes.first(n);
  rx_backlog_.insert(rx_backlog_.end(), accepted.begin(), accepted.end());
  Refill();
  UpdateIrq(fx);
  Finish(lock, fx);
  return n;
}

size_t Uart16550::InputSpace() const {
  std::lock_guard lock(mu_);
  return InputSpaceLocked();
}

bool Uart16550::WaitForInputSpace(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  space_cv_.wait_for(lock, timeout, [this] { return shutdown_ || InputSpaceLocked() > 0; });
  return InputSpaceLocked() > 0;
}

void Uart16550::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  space_cv_.notify_all();
}

bool Uart16550::irq_level() const {
  std::lock_guard lock(mu_);
  return irq_level_;
}

void Uart16550::Finish(std::unique_lock<std::mutex>& lock, const Effects& fx) {
  if (fx.count == 0) {
    lock.unlock();
    if (fx.space_freed) space_cv_.notify_all();
    return;
  }
  std::lock_guard deliver(deliver_mu_);
  lock.unlock();
  if (fx.space_freed) space_cv_.notify_all();
  Deliver(fx);
}

void Uart16550::Deliver(const Effects& fx) const {
  std::array<uint8_t, Effects::kMaxEvents> bytes;
  size_t pending = 0;
  auto flush = [&] {
    if (pending != 0 && tx_) tx_(std::span<const uint8_t>(bytes.data(), pending));
    pending = 0;
  };
  for (size_t i = 0; i < fx.count; ++i) {
    const Effects::Event& e = fx.events[i];
    if (!e.is_irq) {
      bytes[pending++] = e.value;
      continue;
    }
    flush();
    if (irq_) irq_(e.value != 0);
  }
  flush();
}

}  // namespace ssivm

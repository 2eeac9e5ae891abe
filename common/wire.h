// Little-endian field codec for the wire formats between node processes:
// the transport's frame header and handshake, the DSM's coherence messages,
// the cluster's control messages. Reader never reads out of bounds: a short
// input throws Error.
#ifndef SSIVM_COMMON_WIRE_H_
#define SSIVM_COMMON_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/error.h"

namespace ssivm::wire {

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  template <class T>
  void Put(T v) {
    for (size_t i = 0; i < sizeof(T); ++i)
      out_.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
  }

 private:
  std::vector<uint8_t>& out_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  template <class T>
  T Get() {
    if (in_.size() - pos_ < sizeof(T)) throw Error("truncated message");
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t{in_[pos_ + i]} << (8 * i);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  size_t left() const { return in_.size() - pos_; }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace ssivm::wire

#endif  // SSIVM_COMMON_WIRE_H_

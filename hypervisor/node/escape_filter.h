// The terminal escape of the console: Ctrl-A x quits, Ctrl-A Ctrl-A sends a
// literal Ctrl-A. Pure logic over a byte stream.
#ifndef SSIVM_HYPERVISOR_NODE_ESCAPE_FILTER_H_
#define SSIVM_HYPERVISOR_NODE_ESCAPE_FILTER_H_

#include <cstdint>
#include <span>
#include <vector>

namespace ssivm {

class EscapeFilter {
 public:
  static constexpr uint8_t kEscape = 0x01;  // Ctrl-A

  // Appends the bytes meant for the guest to `out`; returns true if the user
  // asked to quit (the rest of the input is dropped then).
  bool Feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);

 private:
  bool pending_escape_ = false;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_ESCAPE_FILTER_H_

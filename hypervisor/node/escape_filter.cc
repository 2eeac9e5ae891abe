#include "hypervisor/node/escape_filter.h"

namespace ssivm {

bool EscapeFilter::Feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  for (uint8_t b : in) {
    if (!pending_escape_) {
      if (b == kEscape) {
        pending_escape_ = true;
      } else {
        out.push_back(b);
      }
      continue;
    }
    pending_escape_ = false;
    if (b == 'x' || b == 'X') return true;
    // Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A followed by anything else sends both.
    out.push_back(kEscape);
    if (b != kEscape) out.push_back(b);
  }
  return false;
}

}  // namespace ssivm

#include "guest/lib/string.h"

namespace ssivm::guest {

bool ParseU64(StrView text, uint64_t* value) {
  uint64_t base = 10;
  if (text.StartsWith("0x") || text.StartsWith("0X")) {
    base = 16;
    text = text.Substr(2);
  }
  if (text.empty()) return false;
  uint64_t result = 0;
  for (size_t i = 0; i < text.size; ++i) {
    const char c = text.data[i];
    uint64_t digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    if (result > (~uint64_t{0} - digit) / base) return false;  // overflow
    result = result * base + digit;
  }
  *value = result;
  return true;
}

}  // namespace ssivm::guest

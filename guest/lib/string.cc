#include "guest/lib/string.h"

// REP MOVSB/STOSB: short, fast on current CPUs, and the compiler cannot turn
// them back into calls to the very functions being defined.
extern "C" {

void* memcpy(void* dst, const void* src, size_t n) {
  void* d = dst;
  asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  if (dst <= src || static_cast<const char*>(src) + n <= static_cast<char*>(dst)) {
    return memcpy(dst, src, n);
  }
  // Overlap with dst above src: copy backwards.
  char* d = static_cast<char*>(dst) + n - 1;
  const char* s = static_cast<const char*>(src) + n - 1;
  asm volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory", "cc");
  return dst;
}

void* memset(void* dst, int c, size_t n) {
  void* d = dst;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const unsigned char* x = static_cast<const unsigned char*>(a);
  const unsigned char* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

}  // extern "C"

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

// The C library functions GCC may emit calls to even in freestanding code
// (struct copies, zero-initialisation, builtins it does not inline). Kernel
// only: a hosted build has them from libc.
#include <stddef.h>

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
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
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

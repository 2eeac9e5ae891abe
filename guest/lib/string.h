// Freestanding string helpers. The compiler may emit calls to memcpy, memset,
// memmove and memcmp by itself, so string.cc defines them with C linkage.
#ifndef SSIVM_GUEST_LIB_STRING_H_
#define SSIVM_GUEST_LIB_STRING_H_

#include <stddef.h>
#include <stdint.h>

extern "C" {
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
}

namespace ssivm::guest {

// A non-owning piece of a string (std::string_view is not freestanding).
struct StrView {
  const char* data = nullptr;
  size_t size = 0;

  constexpr StrView() = default;
  constexpr StrView(const char* d, size_t n) : data(d), size(n) {}
  StrView(const char* s) : data(s), size(strlen(s)) {}  // NOLINT: implicit from literals

  bool empty() const { return size == 0; }
  bool operator==(StrView other) const {
    return size == other.size && memcmp(data, other.data, size) == 0;
  }
  bool StartsWith(StrView prefix) const {
    return size >= prefix.size && memcmp(data, prefix.data, prefix.size) == 0;
  }
  StrView Substr(size_t pos) const { return pos >= size ? StrView(data + size, 0) : StrView(data + pos, size - pos); }
  // For printf("%.*s", s.Len(), s.data).
  int Len() const { return static_cast<int>(size); }
};

// Decimal, or hexadecimal with a 0x prefix; the whole string must be a number
// that fits in 64 bits.
bool ParseU64(StrView text, uint64_t* value);

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_LIB_STRING_H_

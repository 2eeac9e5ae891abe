// Freestanding string helpers (pure code: also built into the host unit test).
#ifndef SSIVM_GUEST_LIB_STRING_H_
#define SSIVM_GUEST_LIB_STRING_H_

#include <stddef.h>
#include <stdint.h>

namespace ssivm::guest {

// A non-owning piece of a string (std::string_view is not freestanding).
struct StrView {
  const char* data = nullptr;
  size_t size = 0;

  constexpr StrView() = default;
  constexpr StrView(const char* d, size_t n) : data(d), size(n) {}
  constexpr StrView(const char* s) : data(s), size(__builtin_strlen(s)) {}  // NOLINT: implicit

  bool empty() const { return size == 0; }
  bool operator==(StrView other) const {
    return size == other.size && __builtin_memcmp(data, other.data, size) == 0;
  }
  bool StartsWith(StrView prefix) const {
    return size >= prefix.size && __builtin_memcmp(data, prefix.data, prefix.size) == 0;
  }
  StrView Substr(size_t pos) const {
    return pos >= size ? StrView(data + size, 0) : StrView(data + pos, size - pos);
  }
  // For printf("%.*s", s.Len(), s.data).
  int Len() const { return static_cast<int>(size); }
};

// Decimal, or hexadecimal with a 0x prefix; the whole string must be a number
// that fits in 64 bits.
bool ParseU64(StrView text, uint64_t* value);

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_LIB_STRING_H_

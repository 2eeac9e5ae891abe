#include "guest/lib/format.h"

#include <stdint.h>

namespace ssivm::guest {
namespace {

struct Spec {
  bool zero_pad = false;
  bool left = false;
  bool alternate = false;  // '#': 0x prefix for %x
  int width = 0;
  int precision = -1;
};

class Writer {
 public:
  Writer(PutCharFn put, void* ctx) : put_(put), ctx_(ctx) {}
  void Put(char c) { put_(ctx_, c); }

  void String(const char* s, const Spec& spec) {
    if (s == nullptr) s = "(null)";
    int len = 0;
    while (s[len] != '\0' && (spec.precision < 0 || len < spec.precision)) ++len;
    Padded("", s, len, spec);
  }

  void Number(uint64_t value, const char* prefix, unsigned base, bool upper, const Spec& spec) {
    char digits[24];
    int len = 0;
    const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
      digits[sizeof(digits) - 1 - len++] = set[value % base];
      value /= base;
    } while (value != 0);
    Padded(prefix, digits + sizeof(digits) - len, len, spec);
  }

 private:
  void Repeat(char c, int n) {
    for (; n > 0; --n) Put(c);
  }
  void Text(const char* s, int len) {
    for (int i = 0; i < len; ++i) Put(s[i]);
  }

  // Pads `prefix` + `s` to the width; zero padding goes after the prefix
  // (sign or 0x), as in printf.
  void Padded(const char* prefix, const char* s, int len, const Spec& spec) {
    int prefix_len = 0;
    while (prefix[prefix_len] != '\0') ++prefix_len;
    const int pad = spec.width > prefix_len + len ? spec.width - prefix_len - len : 0;
    if (!spec.left && !spec.zero_pad) Repeat(' ', pad);
    Text(prefix, prefix_len);
    if (!spec.left && spec.zero_pad) Repeat('0', pad);
    Text(s, len);
    if (spec.left) Repeat(' ', pad);
  }

  PutCharFn put_;
  void* ctx_;
};

enum class Length { kInt, kChar, kShort, kLong, kLongLong, kSize };

struct Buffer {
  char* data;
  size_t size;
  size_t used;
};

void PutToBuffer(void* ctx, char c) {
  auto* b = static_cast<Buffer*>(ctx);
  if (b->used + 1 < b->size) b->data[b->used] = c;
  ++b->used;
}

}  // namespace

void VFormat(PutCharFn put, void* ctx, const char* fmt, va_list args) {
  Writer out(put, ctx);
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      out.Put(*p);
      continue;
    }
    Spec spec;
    for (++p; *p == '0' || *p == '-' || *p == '#'; ++p) {
      (*p == '0' ? spec.zero_pad : *p == '-' ? spec.left : spec.alternate) = true;
    }
    for (; *p >= '0' && *p <= '9'; ++p) spec.width = spec.width * 10 + (*p - '0');
    if (*p == '.') {
      ++p;
      spec.precision = 0;
      if (*p == '*') {
        spec.precision = va_arg(args, int);
        ++p;
      } else {
        for (; *p >= '0' && *p <= '9'; ++p) spec.precision = spec.precision * 10 + (*p - '0');
      }
    }
    Length length = Length::kInt;
    if (*p == 'h') {
      length = *++p == 'h' ? (++p, Length::kChar) : Length::kShort;
    } else if (*p == 'l') {
      length = *++p == 'l' ? (++p, Length::kLongLong) : Length::kLong;
    } else if (*p == 'z') {
      length = Length::kSize;
      ++p;
    }
    switch (*p) {
      case 'd':
      case 'i': {
        int64_t v = length == Length::kLong || length == Length::kLongLong ? va_arg(args, long long)
                    : length == Length::kSize                              ? va_arg(args, long)
                                                                           : va_arg(args, int);
        // %hhd: the int argument as the signed char it was (sign included).
        if (length == Length::kChar)
          v = static_cast<signed char>(v);  // NOLINT(bugprone-signed-char-misuse)
        if (length == Length::kShort) v = static_cast<short>(v);
        const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        out.Number(magnitude, v < 0 ? "-" : "", 10, false, spec);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        uint64_t v = length == Length::kLong || length == Length::kLongLong
                         ? va_arg(args, unsigned long long)
                     : length == Length::kSize ? va_arg(args, size_t)
                                               : va_arg(args, unsigned);
        if (length == Length::kChar) v = static_cast<unsigned char>(v);
        if (length == Length::kShort) v = static_cast<unsigned short>(v);
        const bool hex = *p != 'u';
        out.Number(v, hex && spec.alternate && v != 0 ? (*p == 'X' ? "0X" : "0x") : "",
                   hex ? 16 : 10, *p == 'X', spec);
        break;
      }
      case 'p':
        out.Number(reinterpret_cast<uintptr_t>(va_arg(args, void*)), "0x", 16, false, spec);
        break;
      case 's':
        out.String(va_arg(args, const char*), spec);
        break;
      case 'c':
        out.Put(static_cast<char>(va_arg(args, int)));
        break;
      case '%':
        out.Put('%');
        break;
      case '\0':  // a lone '%' at the end
        return;
      default:  // unknown conversion: show it rather than guess
        out.Put('%');
        out.Put(*p);
        break;
    }
  }
}

size_t VFormatToBuffer(char* buffer, size_t size, const char* fmt, va_list args) {
  Buffer b{buffer, size, 0};
  VFormat(PutToBuffer, &b, fmt, args);
  if (size > 0) buffer[b.used < size ? b.used : size - 1] = '\0';
  return b.used;
}

size_t FormatToBuffer(char* buffer, size_t size, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  const size_t n = VFormatToBuffer(buffer, size, fmt, args);
  va_end(args);
  return n;
}

}  // namespace ssivm::guest

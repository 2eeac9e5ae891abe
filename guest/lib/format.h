// printf-style formatting into any character sink. Supports the subset the
// kernel needs: %d %i %u %x %X %p %s %c %%, flags '0' '-' '#', a width, a
// precision ('.N' or '.*', for %s) and the length modifiers hh h l ll z.
#ifndef SSIVM_GUEST_LIB_FORMAT_H_
#define SSIVM_GUEST_LIB_FORMAT_H_

#include <stdarg.h>
#include <stddef.h>

namespace ssivm::guest {

using PutCharFn = void (*)(void* ctx, char c);

void VFormat(PutCharFn put, void* ctx, const char* fmt, va_list args);

// Always NUL-terminates (if size > 0); returns the length it would have had.
size_t VFormatToBuffer(char* buffer, size_t size, const char* fmt, va_list args);
size_t FormatToBuffer(char* buffer, size_t size, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_LIB_FORMAT_H_

// UTF-8 validation of text read from files, for parsers that require it.
#ifndef SSIVM_COMMON_UTF8_H_
#define SSIVM_COMMON_UTF8_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace ssivm {

// The offset where the first byte sequence that is not UTF-8 starts, or
// nullopt if all of `text` is UTF-8. Valid: the shortest form of a code
// point up to U+10FFFF that is not a surrogate.
std::optional<size_t> FirstInvalidUtf8(std::string_view text);

}  // namespace ssivm

#endif  // SSIVM_COMMON_UTF8_H_

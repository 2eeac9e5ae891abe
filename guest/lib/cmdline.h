// Kernel command line tokenizer: options separated by blanks, each `key` or
// `key=value` (Linux style; quoting is not supported).
#ifndef SSIVM_GUEST_LIB_CMDLINE_H_
#define SSIVM_GUEST_LIB_CMDLINE_H_

#include "guest/lib/string.h"

namespace ssivm::guest {

struct CmdlineOption {
  StrView token;  // the whole `key=value`, for messages
  StrView key;
  StrView value;  // empty if there was no '='
  bool has_value = false;
};

class CmdlineTokenizer {
 public:
  // `text` ends at its NUL or after `max_size` bytes, whichever comes first.
  CmdlineTokenizer(const char* text, size_t max_size);

  // The next option, or false at the end.
  bool Next(CmdlineOption* option);

 private:
  const char* pos_;
  const char* end_;
};

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_LIB_CMDLINE_H_

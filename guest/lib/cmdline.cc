#include "guest/lib/cmdline.h"

namespace ssivm::guest {
namespace {

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

CmdlineTokenizer::CmdlineTokenizer(const char* text, size_t max_size) : pos_(text), end_(text) {
  while (static_cast<size_t>(end_ - text) < max_size && *end_ != '\0') ++end_;
}

bool CmdlineTokenizer::Next(CmdlineOption* option) {
  while (pos_ < end_ && IsBlank(*pos_)) ++pos_;
  if (pos_ == end_) return false;
  const char* start = pos_;
  const char* equals = nullptr;
  for (; pos_ < end_ && !IsBlank(*pos_); ++pos_) {
    if (*pos_ == '=' && equals == nullptr) equals = pos_;
  }
  option->token = StrView(start, pos_ - start);
  option->has_value = equals != nullptr;
  if (equals != nullptr) {
    option->key = StrView(start, equals - start);
    option->value = StrView(equals + 1, pos_ - equals - 1);
  } else {
    option->key = option->token;
    option->value = StrView();
  }
  return true;
}

}  // namespace ssivm::guest

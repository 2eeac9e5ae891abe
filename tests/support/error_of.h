// What a call throws, for tests of refusals: the text of the ssivm::Error
// `f` throws, or "" if it returns (so a HasSubstr on it fails, naming the
// missing refusal).
#ifndef SSIVM_TESTS_SUPPORT_ERROR_OF_H_
#define SSIVM_TESTS_SUPPORT_ERROR_OF_H_

#include <functional>
#include <string>

#include "common/error.h"

namespace ssivm::testing {

inline std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_ERROR_OF_H_

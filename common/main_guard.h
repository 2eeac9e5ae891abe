// The last line of defence of a program's main(): an exception that escapes
// the body (the bodies report their own errors; this one is a bug) is
// reported with the program's name and ends it with kExitVmmError, instead of
// std::terminate's abort.
#ifndef SSIVM_COMMON_MAIN_GUARD_H_
#define SSIVM_COMMON_MAIN_GUARD_H_

#include <cstdio>
#include <exception>

#include "common/exit_status.h"

namespace ssivm {

template <class Body>
int GuardMain(const char* program, Body body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: error: an unknown exception\n", program);
  }
  return kExitVmmError;
}

}  // namespace ssivm

#endif  // SSIVM_COMMON_MAIN_GUARD_H_

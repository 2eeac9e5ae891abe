// Errors carry their context as text: what failed, on which object, and why.
#ifndef SSIVM_COMMON_ERROR_H_
#define SSIVM_COMMON_ERROR_H_

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ssivm {

// The one exception type of the host side. Its message is meant for users:
// it names the object and the problem, e.g. "KVM_CREATE_VCPU for vCPU 3:
// Invalid argument (errno 22)".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "strerror text (errno N)".
std::string ErrnoText(int err);

// Throws Error("<what>: <strerror> (errno N)").
[[noreturn]] void ThrowErrno(std::string_view what, int err = errno);

}  // namespace ssivm

#endif  // SSIVM_COMMON_ERROR_H_

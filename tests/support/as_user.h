// Another local user, for tests of what that user may not do (the caller
// must be root to become them).
#ifndef SSIVM_TESTS_SUPPORT_AS_USER_H_
#define SSIVM_TESTS_SUPPORT_AS_USER_H_

#include <sys/types.h>

#include <string>

namespace ssivm::testing {

inline constexpr uid_t kNobody = 65534;

// What a process of user `uid` (group `uid`, no supplementary groups) gets
// sending `request` to the Unix socket at `path`: the answer, "connect:
// <why>" if it cannot connect, or "cannot become uid N". Runs in a forked
// child, which makes only async-signal-safe calls (the caller may have
// threads).
std::string AskAs(uid_t uid, const std::string& path, const std::string& request);

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_AS_USER_H_

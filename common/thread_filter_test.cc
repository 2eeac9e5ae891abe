#include "common/thread_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ssivm {
namespace {

using ::testing::HasSubstr;

struct ChildResult {
  int status = 0;
  std::string err;
};

// Runs `body` in a child process whose stderr the test reads (a refused call
// ends the whole process).
template <class F>
ChildResult InChild(F body) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    body();
    _exit(0);
  }
  ::close(pipe_fds[1]);
  ChildResult r;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0;) r.err.append(buf, n);
  ::close(pipe_fds[0]);
  ::waitpid(pid, &r.status, 0);
  return r;
}

TEST(ThreadFilter, AForbiddenCallEndsTheProcessNamingIt) {
  const ChildResult r = InChild([] {
    EnableThreadFilters();
    RestrictThisThread(ThreadKind::kTransport);
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);  // allowed
    (void)!::write(STDERR_FILENO, "allowed calls work\n", 19);
    ::syscall(SYS_getppid);  // no transport thread needs this
    _exit(0);
  });
  ASSERT_TRUE(WIFEXITED(r.status)) << r.err;
  EXPECT_EQ(WEXITSTATUS(r.status), 125) << r.err;
  EXPECT_THAT(r.err, HasSubstr("allowed calls work"));
  EXPECT_THAT(r.err,
              HasSubstr("a transport thread made system call " + std::to_string(SYS_getppid)));
}

// What the threads do after setup, found the hard way: the CMOS clock's
// gmtime_r on a vCPU thread (glibc loads the time zone on first use), the
// status request's read of KVM's statistics (pread) and the check of a
// connecting user against this process's (geteuid) on the control thread.
TEST(ThreadFilter, TheThreadsWorkAfterSetupIsAllowed) {
  const ChildResult r = InChild([] {
    const int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    EnableThreadFilters();
    std::thread vcpu([] {
      RestrictThisThread(ThreadKind::kVcpu);
      const time_t now = ::time(nullptr);
      tm t{};
      if (::gmtime_r(&now, &t) == nullptr) _exit(2);
    });
    vcpu.join();
    std::thread control([zero] {
      RestrictThisThread(ThreadKind::kControl);
      uint64_t v = 1;
      if (::pread(zero, &v, sizeof(v), 0) != sizeof(v) || v != 0) _exit(3);
      if (::geteuid() == static_cast<uid_t>(-1)) _exit(4);
    });
    control.join();
    _exit(0);
  });
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.err;
}

TEST(ThreadFilter, OnlyTheCallingThreadIsFiltered) {
  const ChildResult r = InChild([] {
    EnableThreadFilters();
    pid_t got = -1;
    std::thread t([] { RestrictThisThread(ThreadKind::kFaultEngine); });
    t.join();
    got = static_cast<pid_t>(::syscall(SYS_getppid));  // this thread has no filter
    _exit(got > 0 ? 0 : 1);
  });
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.err;
}

TEST(ThreadFilter, NothingIsFilteredUnlessEnabled) {
  const ChildResult r = InChild([] {
    RestrictThisThread(ThreadKind::kControl);
    _exit(::syscall(SYS_getppid) > 0 ? 0 : 1);
  });
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.err;
}

}  // namespace
}  // namespace ssivm

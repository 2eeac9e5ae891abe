#include "common/thread_filter.h"

#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <string>

#include <fmt/format.h>

#include "common/error.h"
#include "common/exit_status.h"

namespace ssivm {
namespace {

std::atomic<bool> g_enabled{false};
thread_local const char* t_kind = nullptr;

// What every thread needs: memory (malloc's arenas, thread stacks), locks,
// time, logging to stderr and the console, signals (the vCPU kick, abort),
// leaving.
constexpr int kBase[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(futex),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(mprotect),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(sched_yield),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getuid),
    SCMP_SYS(geteuid),
    SCMP_SYS(tgkill),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(sigaltstack),  // the sanitizers' runtime, as a thread ends
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(pread64),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(getrandom),
};

// Sockets as the transport and the devices that forward use them.
constexpr int kSocketIo[] = {
    SCMP_SYS(sendmsg),  SCMP_SYS(sendto),   SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
    SCMP_SYS(shutdown), SCMP_SYS(eventfd2), SCMP_SYS(fcntl),
};

void Allow(scmp_filter_ctx ctx, std::initializer_list<int> calls, const char* kind) {
  for (const int call : calls) {
    if (const int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, call, 0); rc < 0) {
      throw Error(fmt::format("seccomp filter for {} threads: system call {}: {}", kind, call,
                              ErrnoText(-rc)));
    }
  }
}

template <size_t N>
void Allow(scmp_filter_ctx ctx, const int (&calls)[N], const char* kind) {
  for (const int call : calls) Allow(ctx, {call}, kind);
}

void Add(scmp_filter_ctx ctx, ThreadKind kind) {
  const char* name = ThreadKindName(kind);
  Allow(ctx, kBase, name);
  // Tightening only: a thread started by a filtered one (a transport sender)
  // inherits the filter and installs its own on top.
  Allow(ctx, {SCMP_SYS(seccomp)}, name);
  if (const int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                                      SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS));
      rc < 0) {
    throw Error(fmt::format("seccomp filter for {} threads: prctl: {}", name, ErrnoText(-rc)));
  }
  switch (kind) {
    case ThreadKind::kVcpu:
      // KVM's vCPU and VM ioctls; devices: the console, forwarded I/O and
      // interrupts (the transport's non-blocking send), the idle port.
      Allow(ctx, kSocketIo, name);
      Allow(ctx, {SCMP_SYS(ioctl), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sched_getaffinity)}, name);
      break;
    case ThreadKind::kFaultEngine:
      // userfaultfd's ioctls (copy, zero-page, write-protect, wake); dropping
      // pages; sending to peers.
      Allow(ctx, kSocketIo, name);
      Allow(ctx, {SCMP_SYS(ioctl)}, name);
      break;
    case ThreadKind::kTransport:
      // epoll, accepting and reading handshakes, sending and closing; the
      // receive thread starts a sender thread per peer that joins (which
      // inherits this filter); the spare descriptor is /dev/null reopened.
      // The channels' handlers run on the receive thread: the fault engine
      // resolves faults (userfaultfd ioctls), the link injects interrupts
      // (KVM ioctls).
      Allow(ctx, kSocketIo, name);
      Allow(ctx,
            {SCMP_SYS(ioctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
             SCMP_SYS(accept4), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(openat),
             SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq)},
            name);
      break;
    case ThreadKind::kControl:
      Allow(ctx, kSocketIo, name);
      Allow(ctx,
            {SCMP_SYS(accept4), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(epoll_wait),
             SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl)},
            name);
      break;
  }
}

// The one thing a refused call may still do: say so and end the process.
// Async-signal-safe only: no allocation, no stdio.
void OnRefusedCall(int, siginfo_t* info, void*) {
  char buf[160];
  size_t n = 0;
  const auto put = [&](const char* s) {
    while (*s != '\0' && n < sizeof(buf)) buf[n++] = *s++;
  };
  put("ssivm: a ");
  put(t_kind != nullptr ? t_kind : "?");
  put(" thread made system call ");
  char num[12];
  int k = 0;
  auto v = static_cast<unsigned>(info->si_syscall);
  do {
    num[k++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && k < 11);
  while (k > 0 && n < sizeof(buf)) buf[n++] = num[--k];
  put(", which its seccomp filter refuses (see common/thread_filter.cc)\n");
  (void)!::write(STDERR_FILENO, buf, n);
  _exit(kExitVmmError);
}

}  // namespace

const char* ThreadKindName(ThreadKind kind) {
  switch (kind) {
    case ThreadKind::kVcpu:
      return "vCPU";
    case ThreadKind::kFaultEngine:
      return "fault engine";
    case ThreadKind::kTransport:
      return "transport";
    case ThreadKind::kControl:
      return "control";
  }
  return "?";
}

void EnableThreadFilters() {
  // glibc loads the time zone on the first gmtime_r (the CMOS clock, on a
  // vCPU thread) by opening /etc/localtime: do it now, while open is allowed.
  ::tzset();
  struct sigaction sa {};
  sa.sa_sigaction = OnRefusedCall;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGSYS, &sa, nullptr) != 0) ThrowErrno("SIGSYS handler for seccomp filters");
  g_enabled = true;
}

bool ThreadFiltersEnabled() {
  return g_enabled;
}

void RestrictThisThread(ThreadKind kind) {
  if (!g_enabled) return;
  t_kind = ThreadKindName(kind);
  // A refused call raises SIGSYS in this thread: blocked, the kernel would
  // kill the process without a word.
  sigset_t sys;
  sigemptyset(&sys);
  sigaddset(&sys, SIGSYS);
  pthread_sigmask(SIG_UNBLOCK, &sys, nullptr);
  try {
    struct Ctx {
      scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
      Ctx() = default;
      Ctx(const Ctx&) = delete;
      Ctx& operator=(const Ctx&) = delete;
      ~Ctx() { seccomp_release(ctx); }
    } f;
    if (f.ctx == nullptr) throw Error("seccomp_init failed");
    Add(f.ctx, kind);
    // Without TSYNC: the calling thread only.
    if (const int rc = seccomp_load(f.ctx); rc < 0) ThrowErrno("seccomp_load", -rc);
  } catch (const std::exception& e) {
    const std::string m = fmt::format(
        "ssivm: cannot install the seccomp filter of a {} thread: {}\n", t_kind, e.what());
    (void)!::write(STDERR_FILENO, m.data(), m.size());
    _exit(kExitVmmError);
  }
}

}  // namespace ssivm

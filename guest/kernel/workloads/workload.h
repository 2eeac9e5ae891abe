// Built-in workloads, run from the shell (`run name args`) or the command
// line (`ssi.run=name:args,...`). Each prints exactly one line
// `RESULT <name> PASS|FAIL <details>` (bad arguments: a usage message and
// FAIL).
#ifndef SSIVM_GUEST_KERNEL_WORKLOADS_WORKLOAD_H_
#define SSIVM_GUEST_KERNEL_WORKLOADS_WORKLOAD_H_

#include <stdint.h>

#include "guest/lib/string.h"

namespace ssivm::guest::workloads {

inline constexpr int kMaxArgs = 8;

struct Args {
  StrView argv[kMaxArgs];
  int argc = 0;
};

struct Workload {
  const char* name;
  const char* usage;  // arguments, with their defaults
  bool (*run)(const Args& args);
};

// All of them, ending with {nullptr}.
const Workload* List();
const Workload* Find(StrView name);

// Argument `i` as a number in [min, max], or `fallback` if absent. On a bad
// value prints why and returns false.
bool ArgU64(const Workload& w, const Args& args, int i, uint64_t fallback, uint64_t min,
            uint64_t max, uint64_t* out);
// Prints the RESULT line; returns `pass`.
bool Result(const char* name, bool pass, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Helpers shared by the workloads.
uint32_t Cpus();
uint64_t NowNs();
// Runs fn(i, ctx) for i in [0, n) in n threads (thread i pinned to CPU
// i % cpus if `pin`) and joins them; false if a thread could not be created.
bool RunThreads(uint32_t n, bool pin, void (*fn)(uint32_t i, void* ctx), void* ctx);

// A reusable barrier for a fixed number of threads (spin, then yield).
// Arrivals and the release live on pages of their own: on a DSM, threads
// spinning on the release keep read-only copies of its page while arrivals
// take the other page one at a time, instead of every spin taking the
// arrivals' page back (the page of the object that holds the barrier, a
// stack or a workload's shared state, is not touched at all).
class Barrier {
 public:
  explicit Barrier(uint32_t n);
  ~Barrier();
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;
  // Returns the TSC at which the last thread arrived (the same value for
  // every thread of one round), so phases can be timed from all-arrived.
  uint64_t Wait();

 private:
  struct Release {
    uint32_t generation;
    uint64_t tsc;
  };
  uint32_t n_;
  uint32_t* count_;   // its own page
  Release* release_;  // the next page
  // Without memory for the two pages: here, together.
  uint32_t fallback_count_ = 0;
  Release fallback_release_{};
};

bool Counter(const Args& args);
bool Litmus(const Args& args);
bool Memtest(const Args& args);
bool Stream(const Args& args);
bool Compute(const Args& args);
bool Pingpong(const Args& args);
bool Initrd(const Args& args);
bool Dsmlat(const Args& args);
bool Wakeup(const Args& args);
bool Ipi(const Args& args);

}  // namespace ssivm::guest::workloads

#endif  // SSIVM_GUEST_KERNEL_WORKLOADS_WORKLOAD_H_

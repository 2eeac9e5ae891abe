// Least privilege for the VMM's threads (as Firecracker does): once set up,
// each kind of thread may make only the system calls its work needs. A call
// outside its list stops the process at once with a message naming the
// thread kind and the call's number (SIGSYS, trapped). The lists are in
// thread_filter.cc, one per kind.
//
// Filters are off unless the process turns them on (the node process does
// before it builds the machine; unit tests of the parts do not), so the
// parts install their thread's filter unconditionally.
#ifndef SSIVM_COMMON_THREAD_FILTER_H_
#define SSIVM_COMMON_THREAD_FILTER_H_

#include <cstdint>

namespace ssivm {

enum class ThreadKind : uint8_t {
  kVcpu,         // KVM_RUN and the devices it exits to (also the device server)
  kFaultEngine,  // userfaultfd events and ioctls, sends to peers
  kTransport,    // the receive thread and the per-peer senders
  kControl,      // the control socket
};
const char* ThreadKindName(ThreadKind kind);

// Turns filtering on for the threads that start from now on (and installs
// the SIGSYS handler that reports a refused call). Not reversible.
void EnableThreadFilters();
bool ThreadFiltersEnabled();

// Installs `kind`'s filter on the calling thread if filtering is on (for
// the rest of the thread's life). If the kernel refuses it, the process
// ends with a message: a thread never runs on unfiltered by mistake.
void RestrictThisThread(ThreadKind kind);

}  // namespace ssivm

#endif  // SSIVM_COMMON_THREAD_FILTER_H_

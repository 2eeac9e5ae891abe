// How a running VM ends: the first reason reported wins; the main thread
// waits for it (event-driven: an eventfd, no polling).
#ifndef SSIVM_HYPERVISOR_NODE_VM_STOP_H_
#define SSIVM_HYPERVISOR_NODE_VM_STOP_H_

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "common/exit_status.h"
#include "common/unique_fd.h"

namespace ssivm {

struct StopReason {
  int status;
  std::string message;  // empty for a normal guest power-off
  bool error;           // logged as an error
};

class VmStop {
 public:
  VmStop();

  // Records the reason if none is recorded yet; wakes the waiter.
  void Request(StopReason reason);
  bool requested() const { return requested_.load(std::memory_order_acquire); }
  // Readable when a stop was requested (for poll()).
  int event_fd() const { return event_.get(); }
  std::optional<StopReason> reason() const;

 private:
  std::atomic<bool> requested_{false};
  mutable std::mutex mu_;
  std::optional<StopReason> reason_;
  UniqueFd event_;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_VM_STOP_H_

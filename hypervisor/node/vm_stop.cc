#include "hypervisor/node/vm_stop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "common/error.h"

namespace ssivm {

VmStop::VmStop() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_.valid()) ThrowErrno("eventfd for VM stop");
}

void VmStop::Request(StopReason reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reason_) return;
    reason_ = std::move(reason);
  }
  requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!::write(event_.get(), &one, sizeof(one));
}

std::optional<StopReason> VmStop::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

}  // namespace ssivm

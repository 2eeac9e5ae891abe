#include "hypervisor/devices/debug_exit.h"

#include <utility>

#include "common/error.h"

namespace ssivm {

DebugExit::DebugExit(ExitCallback on_exit) : on_exit_(std::move(on_exit)) {
  if (!on_exit_) throw Error("debug-exit device: no exit callback");
}

uint32_t DebugExit::Read(uint16_t /*offset*/, uint8_t /*size*/) {
  return 0;
}

void DebugExit::Write(uint16_t /*offset*/, uint8_t /*size*/, uint32_t value) {
  on_exit_(value);
}

}  // namespace ssivm

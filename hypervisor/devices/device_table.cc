#include "hypervisor/devices/device_table.h"

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

void RegisterDevices(IoBus& bus, const std::vector<DeviceEntry>& table, bool device_node,
                     const ForwardDevice& forward) {
  for (const DeviceEntry& e : table) {
    if (e.device_node_only && !device_node) {
      bus.Register(e.base, e.count, fmt::format("{} (forwarded)", e.name), forward(e));
      continue;
    }
    if (e.device == nullptr) {
      throw Error(fmt::format("device {} at port {:#x} has no implementation on this node", e.name,
                              e.base));
    }
    bus.Register(e.base, e.count, e.name, e.device);
  }
}

void RegisterServedDevices(IoBus& bus, const std::vector<DeviceEntry>& table) {
  for (const DeviceEntry& e : table) {
    if (e.device_node_only) bus.Register(e.base, e.count, e.name, e.device);
  }
}

}  // namespace ssivm

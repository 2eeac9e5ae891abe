// A node's devices as one table: where each sits on the I/O bus and whether
// it lives on the device node only (the console and what reports the guest's
// progress and exit), in which case the other nodes register a stand-in that
// forwards to it. The node's bus is built from the table, not wired by hand.
#ifndef SSIVM_HYPERVISOR_DEVICES_DEVICE_TABLE_H_
#define SSIVM_HYPERVISOR_DEVICES_DEVICE_TABLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hypervisor/devices/io_bus.h"
#include "hypervisor/devices/pio_device.h"

namespace ssivm {

struct DeviceEntry {
  uint16_t base;
  uint16_t count;
  std::string name;
  PioDevice* device;  // not owned; may be null on a node that forwards it
  bool device_node_only = false;
};

// Returns the stand-in to register for a device that lives on another node
// (it must outlive the bus).
using ForwardDevice = std::function<PioDevice*(const DeviceEntry&)>;

// Registers every entry on `bus`: a device-node-only entry is registered as
// itself on the device node and as `forward(entry)` elsewhere (named
// "NAME (forwarded)"). Throws Error (from IoBus::Register) on overlaps, or
// if an entry this node must serve itself has no device.
void RegisterDevices(IoBus& bus, const std::vector<DeviceEntry>& table, bool device_node,
                     const ForwardDevice& forward);

// Registers the device-node-only entries alone: what the device node serves
// to its peers (they forward nothing else).
void RegisterServedDevices(IoBus& bus, const std::vector<DeviceEntry>& table);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_DEVICE_TABLE_H_

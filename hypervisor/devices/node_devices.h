// Every device of a node process, and the table that places them on its I/O
// bus (device_table.h). The devices are register models; what they do
// beyond their registers (console output, interrupts, stopping the VM,
// reaching other nodes) is in the hooks the node gives them, so the whole
// set also runs without KVM: in tests, and under the device fuzz target.
#ifndef SSIVM_HYPERVISOR_DEVICES_NODE_DEVICES_H_
#define SSIVM_HYPERVISOR_DEVICES_NODE_DEVICES_H_

#include <chrono>
#include <cstdint>
#include <ctime>
#include <vector>

#include "hypervisor/devices/acpi_pm.h"
#include "hypervisor/devices/boot_progress.h"
#include "hypervisor/devices/cmos_rtc.h"
#include "hypervisor/devices/debug_exit.h"
#include "hypervisor/devices/device_table.h"
#include "hypervisor/devices/idle_port.h"
#include "hypervisor/devices/pv_info.h"
#include "hypervisor/devices/pv_ipi.h"
#include "hypervisor/devices/uart16550.h"

namespace ssivm {

struct NodeDeviceHooks {
  Uart16550::TxCallback console_output;
  Uart16550::IrqCallback console_irq;
  DebugExit::ExitCallback guest_exit;
  std::chrono::steady_clock::time_point process_start;
  BootProgress::Sink boot_progress;
  uint32_t vcpus = 0;  // the guest's, for the PV IPI's target check
  PvIpi::Deliver send_ipi;
  IdlePort::Halt halt;
  AcpiPm::SleepCallback acpi_sleep;
  ResetPort::ResetCallback reset;
  CmosRtc::Clock clock = [] { return std::time(nullptr); };
  PvInfo::Lookup info;
};

struct NodeDevices {
  explicit NodeDevices(const NodeDeviceHooks& hooks);

  // Where each device sits. The console and what reports the guest's
  // progress and exit live on the device node (the lowest id); the others
  // forward those ports there. The rest is on every node (the idle port
  // halts a local vCPU).
  std::vector<DeviceEntry> Table();

  Uart16550 uart;
  DebugExit debug_exit;
  BootProgress progress;
  PvIpi ipi;
  IdlePort idle;
  CmosRtc rtc;
  AcpiPm acpi_pm;
  ResetPort reset;
  PvInfo info;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_DEVICES_NODE_DEVICES_H_

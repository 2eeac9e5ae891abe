#include "hypervisor/devices/node_devices.h"

#include "guest/abi/pv_devices.h"

namespace ssivm {

NodeDevices::NodeDevices(const NodeDeviceHooks& hooks)
    : uart(hooks.console_output, hooks.console_irq),
      debug_exit(hooks.guest_exit),
      progress(hooks.process_start, hooks.boot_progress),
      ipi(hooks.vcpus, hooks.send_ipi),
      idle(hooks.halt),
      rtc(hooks.clock),
      acpi_pm(hooks.acpi_sleep),
      reset(hooks.reset),
      info(hooks.info) {}

std::vector<DeviceEntry> NodeDevices::Table() {
  return {
      {abi::kCom1Port, abi::kCom1PortCount, "com1", &uart, true},
      {abi::kDebugExitPort, 4, "debug-exit", &debug_exit, true},
      {abi::kBootProgressPort, 4, "boot-progress", &progress, true},
      {abi::kPvIpiPort, 4, "pv-ipi", &ipi},
      {abi::kIdlePort, 1, "idle", &idle},
      {abi::kPvInfoPort, abi::kPvInfoPortCount, "pv-info", &info},
      {kCmosPort, kCmosPortCount, "cmos-rtc", &rtc},
      {AcpiPm::kPort, AcpiPm::kPortCount, "acpi-pm", &acpi_pm},
      {ResetPort::kPort, 1, "reset", &reset},
  };
}

}  // namespace ssivm

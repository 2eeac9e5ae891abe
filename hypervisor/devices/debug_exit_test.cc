#include "hypervisor/devices/debug_exit.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "guest/abi/pv_devices.h"
#include "hypervisor/devices/io_bus.h"

namespace ssivm {
namespace {

TEST(DebugExitTest, WriteReportsStatus) {
  std::vector<uint32_t> statuses;
  DebugExit dev([&](uint32_t status) { statuses.push_back(status); });
  dev.Write(0, 4, abi::kExitPanic);
  dev.Write(0, 1, 0x2a);
  EXPECT_EQ(statuses, (std::vector<uint32_t>{abi::kExitPanic, 0x2a}));
}

TEST(DebugExitTest, ReadsZeroWithoutExiting) {
  int calls = 0;
  DebugExit dev([&](uint32_t) { ++calls; });
  EXPECT_EQ(dev.Read(0, 4), 0u);
  EXPECT_EQ(calls, 0);
}

TEST(DebugExitTest, ThroughTheBus) {
  std::vector<uint32_t> statuses;
  DebugExit dev([&](uint32_t status) { statuses.push_back(status); });
  IoBus bus;
  bus.Register(abi::kDebugExitPort, 4, "debug-exit", &dev);
  uint8_t data[4] = {0x01, 0x02, 0x00, 0x80};
  bus.Dispatch(true, abi::kDebugExitPort, 4, data);
  EXPECT_EQ(statuses, (std::vector<uint32_t>{0x80000201}));
}

}  // namespace
}  // namespace ssivm

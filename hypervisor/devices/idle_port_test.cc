#include "hypervisor/devices/idle_port.h"

#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "guest/abi/pv_devices.h"
#include "hypervisor/devices/io_bus.h"

namespace ssivm {
namespace {

TEST(IdlePort, HaltsTheVcpuThatWrote) {
  std::vector<uint32_t> halted;
  IdlePort idle([&](uint32_t vcpu) { halted.push_back(vcpu); });
  IoBus bus;
  bus.Register(abi::kIdlePort, 1, "idle", &idle);
  uint8_t byte = 0;
  uint8_t word[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT_TRUE(bus.Dispatch(true, abi::kIdlePort, 1, &byte, 3));  // the guest's outb
  EXPECT_TRUE(bus.Dispatch(true, abi::kIdlePort, 4, word, 0));   // any size and value
  EXPECT_EQ(halted, (std::vector<uint32_t>{3, 0}));
  EXPECT_EQ(idle.halts(), 2u);
  EXPECT_EQ(idle.refused(), 0u);
}

TEST(IdlePort, ReadsHaltNothing) {
  int calls = 0;
  IdlePort idle([&](uint32_t) { ++calls; });
  IoBus bus;
  bus.Register(abi::kIdlePort, 1, "idle", &idle);
  uint8_t data[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT_TRUE(bus.Dispatch(false, abi::kIdlePort, 4, data, 1));
  EXPECT_EQ(data[0] | data[1] | data[2] | data[3], 0);
  EXPECT_EQ(calls, 0);
}

TEST(IdlePort, AWriteFromNoVcpuIsRefused) {
  int calls = 0;
  IdlePort idle([&](uint32_t) { ++calls; });
  IoBus bus;
  bus.Register(abi::kIdlePort, 1, "idle", &idle);
  uint8_t byte = 0;
  EXPECT_TRUE(bus.Dispatch(true, abi::kIdlePort, 1, &byte));  // e.g. forwarded by a peer
  idle.Write(0, 1, 0);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(idle.refused(), 2u);
}

TEST(IdlePort, NeedsAHaltFunction) {
  EXPECT_THROW(IdlePort(nullptr), Error);
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/devices/device_table.h"

#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::HasSubstr;

// Answers reads with a fixed value: which device took an access.
class Tagged final : public PioDevice {
 public:
  explicit Tagged(uint32_t tag) : tag_(tag) {}
  uint32_t Read(uint16_t /*offset*/, uint8_t /*size*/) override { return tag_; }
  void Write(uint16_t /*offset*/, uint8_t /*size*/, uint32_t /*value*/) override {}

 private:
  uint32_t tag_;
};

uint8_t ReadPort(IoBus& bus, uint16_t port) {
  uint8_t b = 0;
  bus.Dispatch(false, port, 1, &b);
  return b;
}

TEST(DeviceTable, TheDeviceNodeServesEverythingItself) {
  Tagged console(1), local(2);
  IoBus bus;
  int forwarded = 0;
  RegisterDevices(bus, {{0x3f8, 8, "com1", &console, true}, {0x70, 2, "rtc", &local, false}}, true,
                  [&](const DeviceEntry&) -> PioDevice* {
                    ++forwarded;
                    return nullptr;
                  });
  EXPECT_EQ(forwarded, 0);
  EXPECT_EQ(ReadPort(bus, 0x3f8), 1);
  EXPECT_EQ(ReadPort(bus, 0x71), 2);
}

TEST(DeviceTable, OtherNodesForwardWhatLivesOnTheDeviceNode) {
  Tagged local(2), stand_in(9);
  IoBus bus;
  std::vector<std::string> asked;
  RegisterDevices(bus, {{0x3f8, 8, "com1", nullptr, true}, {0x70, 2, "rtc", &local, false}}, false,
                  [&](const DeviceEntry& e) -> PioDevice* {
                    asked.push_back(e.name);
                    return &stand_in;
                  });
  EXPECT_EQ(asked, std::vector<std::string>{"com1"});
  EXPECT_EQ(ReadPort(bus, 0x3fd), 9);
  EXPECT_EQ(ReadPort(bus, 0x70), 2);
}

// What the device node serves to its peers: the devices they forward, no
// other port (a peer may not reach node-local devices such as the RTC).
TEST(DeviceTable, TheServedBusHoldsOnlyWhatPeersForward) {
  Tagged console(1), local(2);
  IoBus served;
  RegisterServedDevices(served,
                        {{0x3f8, 8, "com1", &console, true}, {0x70, 2, "rtc", &local, false}});
  EXPECT_TRUE(served.Handles(0x3f8));
  EXPECT_TRUE(served.Handles(0x3ff));
  EXPECT_FALSE(served.Handles(0x70));
  EXPECT_FALSE(served.Handles(0x71));
  EXPECT_EQ(ReadPort(served, 0x3f8), 1);
}

TEST(DeviceTable, ADeviceMissingWhereItMustBeServedIsNamed) {
  IoBus bus;
  try {
    RegisterDevices(bus, {{0x70, 2, "rtc", nullptr, false}}, true, nullptr);
    FAIL() << "a missing device was registered";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("device rtc at port 0x70"));
  }
}

TEST(DeviceTable, OverlapsAreRefused) {
  Tagged a(1), b(2);
  IoBus bus;
  EXPECT_THROW(RegisterDevices(bus, {{0x70, 2, "rtc", &a, false}, {0x71, 1, "other", &b, false}},
                               true, nullptr),
               Error);
}

}  // namespace
}  // namespace ssivm

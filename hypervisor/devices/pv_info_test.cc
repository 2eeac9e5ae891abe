#include "hypervisor/devices/pv_info.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

TEST(PvInfo, SelectsAndReadsBothHalves) {
  PvInfo info([](uint32_t key) -> std::optional<uint64_t> {
    if (key == 7) return 0x1122334455667788ull;
    return std::nullopt;
  });
  info.Write(0, 4, 7);
  EXPECT_EQ(info.Read(0, 4), 0x55667788u);
  EXPECT_EQ(info.Read(4, 4), 0x11223344u);
  info.Write(0, 4, 99);  // unknown key: all-ones
  EXPECT_EQ(info.Read(0, 4), 0xffffffffu);
  EXPECT_EQ(info.Read(4, 4), 0xffffffffu);
  info.Write(0, 4, 7);
  EXPECT_EQ(info.Read(2, 4), 0xffffffffu);  // guest-controlled garbage is harmless
  EXPECT_EQ(info.Read(0, 1), 0xffffffffu);
  info.Write(3, 1, 7);
  EXPECT_EQ(info.Read(0, 4), 0xffffffffu);
}

TEST(PvInfo, NeedsALookup) {
  EXPECT_THROW(PvInfo(nullptr), Error);
}

}  // namespace
}  // namespace ssivm

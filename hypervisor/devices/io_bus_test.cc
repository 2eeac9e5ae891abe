#include "hypervisor/devices/io_bus.h"

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct Access {
  bool is_write;
  uint16_t offset;
  uint8_t size;
  uint32_t value;
};

// Records accesses; reads return `read_value`.
class FakeDevice : public PioDevice {
 public:
  explicit FakeDevice(uint32_t read_value = 0) : read_value_(read_value) {}

  uint32_t Read(uint16_t offset, uint8_t size) override {
    accesses.push_back({false, offset, size, 0});
    return read_value_;
  }
  void Write(uint16_t offset, uint8_t size, uint32_t value) override {
    accesses.push_back({true, offset, size, value});
  }

  std::vector<Access> accesses;

 private:
  uint32_t read_value_;
};

template <class F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(IoBusTest, DispatchesToOwnerWithOffset) {
  IoBus bus;
  FakeDevice a(0x11223344), b(0xaabbccdd);
  bus.Register(0x3f8, 8, "com1", &a);
  bus.Register(0x500, 4, "debug-exit", &b);

  uint8_t data[4] = {};
  EXPECT_TRUE(bus.Dispatch(false, 0x3fd, 1, data));
  EXPECT_EQ(data[0], 0x44);
  ASSERT_EQ(a.accesses.size(), 1u);
  EXPECT_FALSE(a.accesses[0].is_write);
  EXPECT_EQ(a.accesses[0].offset, 5);
  EXPECT_EQ(a.accesses[0].size, 1);

  uint8_t word[4] = {0x78, 0x56, 0x34, 0x12};
  EXPECT_TRUE(bus.Dispatch(true, 0x502, 4, word));
  ASSERT_EQ(b.accesses.size(), 1u);
  EXPECT_TRUE(b.accesses[0].is_write);
  EXPECT_EQ(b.accesses[0].offset, 2);
  EXPECT_EQ(b.accesses[0].size, 4);
  EXPECT_EQ(b.accesses[0].value, 0x12345678u);

  uint8_t half[2] = {};
  EXPECT_TRUE(bus.Dispatch(false, 0x500, 2, half));
  EXPECT_EQ(half[0], 0xdd);
  EXPECT_EQ(half[1], 0xcc);
  EXPECT_EQ(a.accesses.size(), 1u);
  EXPECT_EQ(bus.unhandled(), 0u);
}

TEST(IoBusTest, RangeEdges) {
  IoBus bus;
  FakeDevice d;
  bus.Register(0x10, 4, "d", &d);
  EXPECT_FALSE(bus.Handles(0x0f));
  EXPECT_TRUE(bus.Handles(0x10));
  EXPECT_TRUE(bus.Handles(0x13));
  EXPECT_FALSE(bus.Handles(0x14));
  // An access starting on the last port goes to the device whole.
  uint8_t data[4] = {};
  EXPECT_TRUE(bus.Dispatch(false, 0x13, 4, data));
  EXPECT_EQ(d.accesses.back().offset, 3);
}

TEST(IoBusTest, TopOfPortSpace) {
  IoBus bus;
  FakeDevice d;
  bus.Register(0xfff0, 16, "top", &d);
  EXPECT_TRUE(bus.Handles(0xffff));
  uint8_t data[1] = {};
  EXPECT_TRUE(bus.Dispatch(false, 0xffff, 1, data));
  EXPECT_EQ(d.accesses.back().offset, 15);
}

TEST(IoBusTest, OverlapNamesBothDevices) {
  IoBus bus;
  FakeDevice a, b;
  bus.Register(0x3f8, 8, "com1", &a);
  // Overlap at the end of the new range, at its start, and containment.
  for (const auto& range : {std::pair{0x3f0, 9}, {0x3ff, 2}, {0x3f9, 1}, {0x300, 0x200}}) {
    const auto base = static_cast<uint16_t>(range.first);
    const auto count = static_cast<uint16_t>(range.second);
    EXPECT_THAT(ErrorOf([&] { bus.Register(base, count, "intruder", &b); }),
                AllOf(HasSubstr("\"intruder\""), HasSubstr("\"com1\""), HasSubstr("overlaps")))
        << std::hex << base << " " << count;
  }
  // Adjacent ranges are fine.
  bus.Register(0x3f0, 8, "below", &b);
  bus.Register(0x400, 1, "above", &b);
  EXPECT_TRUE(bus.Handles(0x3f7));
  EXPECT_TRUE(bus.Handles(0x400));
}

TEST(IoBusTest, RejectsBadRanges) {
  IoBus bus;
  FakeDevice d;
  EXPECT_THAT(ErrorOf([&] { bus.Register(0x100, 0, "empty", &d); }),
              AllOf(HasSubstr("\"empty\""), HasSubstr("zero ports")));
  EXPECT_THAT(ErrorOf([&] { bus.Register(0xfff0, 17, "wrap", &d); }),
              AllOf(HasSubstr("\"wrap\""), HasSubstr("0xffff")));
  EXPECT_THAT(ErrorOf([&] { bus.Register(0x100, 1, "null", nullptr); }),
              AllOf(HasSubstr("\"null\""), HasSubstr("null")));
  EXPECT_FALSE(bus.Handles(0x100));
}

TEST(IoBusTest, UnhandledPortsReadAllOnesAndAreCounted) {
  IoBus bus;
  FakeDevice d;
  bus.Register(0x3f8, 8, "com1", &d);

  uint8_t data[4] = {1, 2, 3, 4};
  EXPECT_FALSE(bus.Dispatch(false, 0x80, 4, data));
  EXPECT_EQ(data[0], 0xff);
  EXPECT_EQ(data[1], 0xff);
  EXPECT_EQ(data[2], 0xff);
  EXPECT_EQ(data[3], 0xff);

  uint8_t small[2] = {5, 6};
  EXPECT_FALSE(bus.Dispatch(false, 0x61, 1, small));
  EXPECT_EQ(small[0], 0xff);
  EXPECT_EQ(small[1], 6);  // only `size` bytes are touched

  uint8_t out[1] = {0x42};
  EXPECT_FALSE(bus.Dispatch(true, 0x80, 1, out));
  EXPECT_EQ(out[0], 0x42);
  EXPECT_EQ(bus.unhandled(), 3u);
  EXPECT_TRUE(d.accesses.empty());
}

TEST(IoBusTest, FirstUnhandledOncePerPort) {
  IoBus bus;
  EXPECT_TRUE(bus.FirstUnhandled(0x80));
  EXPECT_FALSE(bus.FirstUnhandled(0x80));
  EXPECT_TRUE(bus.FirstUnhandled(0x81));
  EXPECT_TRUE(bus.FirstUnhandled(0x0));
  EXPECT_TRUE(bus.FirstUnhandled(0xffff));
  EXPECT_FALSE(bus.FirstUnhandled(0xffff));
  EXPECT_FALSE(bus.FirstUnhandled(0x81));
}

TEST(IoBusTest, BadSizeRejected) {
  IoBus bus;
  FakeDevice d;
  bus.Register(0x3f8, 8, "com1", &d);
  uint8_t data[8] = {};
  for (uint8_t size : {0, 3, 8}) {
    EXPECT_THAT(ErrorOf([&] { bus.Dispatch(false, 0x3f8, size, data); }),
                HasSubstr("bad I/O size " + std::to_string(size) + " at port 0x3f8"));
  }
  EXPECT_THAT(ErrorOf([&] { bus.Dispatch(true, 0x80, 3, data); }),
              HasSubstr("bad I/O size 3 at port 0x80"));
  EXPECT_TRUE(d.accesses.empty());
  EXPECT_EQ(bus.unhandled(), 0u);
}

TEST(IoBusTest, ConcurrentUnhandledCountsAndFirstSeen) {
  IoBus bus;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10000;
  std::atomic<int> firsts{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      uint8_t data[1];
      for (int i = 0; i < kPerThread; ++i) {
        const auto port = static_cast<uint16_t>(i % 100);
        if (!bus.Dispatch(false, port, 1, data) && bus.FirstUnhandled(port)) ++firsts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bus.unhandled(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(firsts.load(), 100);
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/emulated/cpio.h"

#include <gtest/gtest.h>

#include <string>

namespace ssivm::emulated {
namespace {

std::string Text(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

// Field i (0 = ino) of the header at `offset`.
uint32_t Field(const std::string& a, size_t offset, int i) {
  return static_cast<uint32_t>(std::stoul(a.substr(offset + 6 + size_t{8} * i, 8), nullptr, 16));
}

TEST(Cpio, WritesNewcEntriesWithParentsAndTrailer) {
  CpioWriter w;
  const std::string data = "hello";
  w.File("/etc/hwkvm/config", data, 0640);
  const std::string a = Text(w.Finish());
  // etc, etc/hwkvm, the file, the trailer: each header starts with the magic.
  size_t count = 0;
  for (size_t p = a.find("070701"); p != std::string::npos; p = a.find("070701", p + 1)) ++count;
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(a.compare(0, 6, "070701"), 0);
  EXPECT_EQ(Field(a, 0, 1), 040755u);  // etc: a directory
  EXPECT_NE(a.find("etc/hwkvm/config"), std::string::npos);
  const size_t file = a.rfind("070701", a.find("etc/hwkvm/config"));
  EXPECT_EQ(Field(a, file, 1), 0100640u);
  EXPECT_EQ(Field(a, file, 6), 5u);    // size
  EXPECT_EQ(a.find("hello") % 4, 0u);  // data 4-byte aligned
  EXPECT_NE(a.find("TRAILER!!!"), std::string::npos);
  EXPECT_EQ(a.size() % 4, 0u);
}

TEST(Cpio, DeviceNodesCarryTheirNumbers) {
  CpioWriter w;
  w.CharDevice("dev/console", 5, 1);
  const std::string a = Text(w.Finish());
  const size_t e = a.rfind("070701", a.find("dev/console"));
  EXPECT_EQ(Field(a, e, 1), 020600u);
  EXPECT_EQ(Field(a, e, 9), 5u);
  EXPECT_EQ(Field(a, e, 10), 1u);
}

TEST(Cpio, SymlinkTargetIsTheData) {
  CpioWriter w;
  w.Symlink("bin/sh", "busybox");
  const std::string a = Text(w.Finish());
  const size_t e = a.rfind("070701", a.find("bin/sh"));
  EXPECT_EQ(Field(a, e, 1), 0120777u);
  EXPECT_EQ(Field(a, e, 6), 7u);
  EXPECT_NE(a.find("busybox"), std::string::npos);
}

TEST(Cpio, ADirectoryIsWrittenOnce) {
  CpioWriter w;
  w.Directory("lib/modules");
  w.File("lib/modules/a.ko", std::string("x"));
  w.File("lib/modules/b.ko", std::string("y"));
  const std::string a = Text(w.Finish());
  size_t count = 0;
  for (size_t p = a.find("lib/modules"); p != std::string::npos; p = a.find("lib/modules", p + 1))
    ++count;
  EXPECT_EQ(count, 3u);  // the directory, a.ko, b.ko
}

TEST(Cpio, RefusesAnEmptyPath) {
  CpioWriter w;
  EXPECT_THROW(w.File("/", std::string("x")), std::exception);
}

}  // namespace
}  // namespace ssivm::emulated

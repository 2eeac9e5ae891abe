#include "hypervisor/emulated/qemu_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace ssivm::emulated {
namespace {

using ::testing::Contains;

// The value following `flag` (the n-th time it appears).
std::string After(const std::vector<std::string>& a, const std::string& flag, int n = 0) {
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    if (a[i] == flag && n-- == 0) return a[i + 1];
  }
  return "<absent>";
}

QemuSpec Spec() {
  QemuSpec s;
  s.cpus = 2;
  s.memory_mib = 3072;
  s.kernel = "/c/vmlinuz";
  s.initrd = "/t/initrd.cpio";
  s.append = "console=ttyS0 quiet";
  s.serial_socket = "/t/serial.sock";
  s.channel_socket = "/t/channel.sock";
  s.shares = {{"hostroot", "/", true}, {"rw0", "/out/a,b", false}};
  return s;
}

TEST(QemuCommand, EmulatesAnSvmCpuWithTheMachinesSize) {
  const auto a = QemuArgv(Spec());
  EXPECT_EQ(a[0], "qemu-system-x86_64");
  EXPECT_EQ(After(a, "-accel"), "tcg,thread=multi");
  EXPECT_EQ(After(a, "-cpu"), "EPYC,-xsave,+svm");
  EXPECT_EQ(After(a, "-smp"), "2");
  EXPECT_EQ(After(a, "-m"), "3072");
  EXPECT_EQ(After(a, "-kernel"), "/c/vmlinuz");
  EXPECT_EQ(After(a, "-initrd"), "/t/initrd.cpio");
  EXPECT_EQ(After(a, "-append"), "console=ttyS0 quiet");
  EXPECT_THAT(a, Contains("-no-reboot"));
  QemuSpec one = Spec();
  one.cpus = 1;
  EXPECT_EQ(After(QemuArgv(one), "-accel"), "tcg,thread=single");
}

TEST(QemuCommand, ConsoleAndChannelAreSockets) {
  const auto a = QemuArgv(Spec());
  EXPECT_EQ(After(a, "-chardev", 0), "socket,id=serial,path=/t/serial.sock");
  EXPECT_EQ(After(a, "-serial"), "chardev:serial");
  EXPECT_EQ(After(a, "-chardev", 1), "socket,id=channel,path=/t/channel.sock");
  EXPECT_THAT(a, Contains("virtserialport,bus=vser.0,chardev=channel,name=org.ssivm.hwkvm.0"));
}

TEST(QemuCommand, SharesAreNinePWithCommasEscaped) {
  const auto a = QemuArgv(Spec());
  EXPECT_EQ(After(a, "-fsdev", 0),
            "local,id=hostroot,path=/,security_model=none,multidevs=remap,readonly=on");
  EXPECT_EQ(After(a, "-fsdev", 1),
            "local,id=rw0,path=/out/a,,b,security_model=none,multidevs=remap");
  EXPECT_THAT(a, Contains("virtio-9p-pci,fsdev=rw0,mount_tag=rw0"));
}

TEST(QemuCommand, RefusesZeroCpus) {
  QemuSpec s = Spec();
  s.cpus = 0;
  EXPECT_THROW(QemuArgv(s), std::exception);
}

}  // namespace
}  // namespace ssivm::emulated

#include "hypervisor/emulated/kernel_modules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::emulated {
namespace {

using ::testing::ElementsAre;

// A piece of the real modules.dep of Debian's 6.1 kernel.
const char kDep[] =
    "kernel/arch/x86/kvm/kvm.ko: kernel/virt/lib/irqbypass.ko\n"
    "kernel/arch/x86/kvm/kvm-amd.ko: kernel/arch/x86/kvm/kvm.ko kernel/virt/lib/irqbypass.ko "
    "kernel/drivers/crypto/ccp/ccp.ko\n"
    "kernel/virt/lib/irqbypass.ko:\n"
    "kernel/drivers/crypto/ccp/ccp.ko:\n"
    "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko "
    "kernel/fs/fscache/fscache.ko\n"
    "kernel/net/9p/9pnet.ko:\n"
    "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
    "kernel/fs/netfs/netfs.ko:\n";

TEST(KernelModules, NamesNormalise) {
  EXPECT_EQ(ModuleName("kvm-amd"), "kvm_amd");
  EXPECT_EQ(ModuleName("kernel/arch/x86/kvm/kvm-amd.ko"), "kvm_amd");
  EXPECT_EQ(ModuleName("kernel/fs/9p/9p.ko.xz"), "9p");
}

TEST(KernelModules, DependenciesComeFirstAndOnce) {
  EXPECT_THAT(ModuleLoadOrder(kDep, {"kvm_amd", "kvm"}),
              ElementsAre("kernel/virt/lib/irqbypass.ko", "kernel/arch/x86/kvm/kvm.ko",
                          "kernel/drivers/crypto/ccp/ccp.ko", "kernel/arch/x86/kvm/kvm-amd.ko"));
  EXPECT_THAT(ModuleLoadOrder(kDep, {"9p"}),
              ElementsAre("kernel/net/9p/9pnet.ko", "kernel/fs/netfs/netfs.ko",
                          "kernel/fs/fscache/fscache.ko", "kernel/fs/9p/9p.ko"));
}

TEST(KernelModules, AMissingModuleIsNamed) {
  try {
    ModuleLoadOrder("kernel/a.ko: kernel/b.ko\n", {"a"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "kernel module b (needed by a) is not in modules.dep");
  }
  EXPECT_THROW(ModuleLoadOrder(kDep, {"nosuch"}), Error);
}

TEST(KernelModules, ABuiltInModuleNeedsNoLoading) {
  // Debian's 6.12 kernel builds virtio_pci in; 6.1 ships it as a module.
  EXPECT_THAT(ModuleLoadOrder("kernel/a.ko: kernel/b.ko\n", {"virtio-pci", "a"},
                              "kernel/drivers/virtio/virtio_pci.ko\nkernel/b.ko\n"),
              ElementsAre("kernel/a.ko"));
  EXPECT_THROW(ModuleLoadOrder("", {"virtio_pci"}, "kernel/other.ko\n"), Error);
}

TEST(KernelModules, ACycleDoesNotLoopForever) {
  EXPECT_THAT(ModuleLoadOrder("kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n", {"a"}),
              ElementsAre("kernel/b.ko", "kernel/a.ko"));
}

}  // namespace
}  // namespace ssivm::emulated

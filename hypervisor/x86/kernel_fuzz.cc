// Fuzz target: a guest kernel image as the user gives it (`--kernel`): an
// x86-64 ELF or a Linux bzImage, detected, validated and loaded into a
// 32 MiB guest's RAM (LoadKernel), then the boot information written from
// what the image says (WriteBootInfo: command line limit, initrd placement).
// Each step accepts or throws Error; nothing is written outside guest RAM.
#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/error.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/x86/kernel_loader.h"
#include "hypervisor/x86/layout.h"
#include "hypervisor/x86/test_images.h"
#include "tests/support/fuzz.h"

namespace ssivm {
namespace {

std::vector<fuzz::Seed> Seeds() {
  using testing::Pattern;
  const std::vector<uint8_t> elf =
      testing::MakeElf(abi::kKernelBase + 0x10, {{.gpa = abi::kKernelBase,
                                                  .data = Pattern(0x1000, 1),
                                                  .mem_size = 0x1000,
                                                  .flags = PF_R | PF_X},
                                                 {.gpa = abi::kKernelBase + 0x10000,
                                                  .data = Pattern(0x40, 2),
                                                  .mem_size = 0x2000,
                                                  .flags = PF_R | PF_W}});
  return {{"elf_text_and_bss", elf},
          {"bzimage_relocatable", testing::MakeBzImage(Pattern(0x800, 3), 4, 1u << 20)}};
}
const fuzz::SeedRegistration kSeeds(&Seeds);

struct Guest {
  GuestLayout layout = GuestLayout::Compute(GuestLayout::kMinMemoryMiB, 2);
  testing::TestRam ram = testing::TestRam::ForLayout(layout);
  std::vector<uint8_t> initrd = testing::Pattern(0x1000, 4);
};

void Boot(std::span<const uint8_t> image) {
  static Guest g;
  const LoadedKernel k = LoadKernel(image, "vmlinuz", g.ram.mem(), g.layout);
  BootConfig boot{.kernel_name = "vmlinuz",
                  .cmdline = "console=ttyS0 ssi.shell=1",
                  .initrd = g.initrd,
                  .initrd_name = "initrd.img",
                  .host_kind = abi::HostKind::kHardware};
  WriteBootInfo(g.ram.mem(), g.layout, k, boot, k.setup_header ? &*k.setup_header : nullptr);
}

}  // namespace
}  // namespace ssivm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ssivm::Boot(ssivm::fuzz::Bytes(data, size));
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

// Loads a real distribution kernel: ./ssi test (or
// bazel test --test_env=SSIVM_TEST_VMLINUZ=PATH; ./ssi test sets it (hwkvm fetch))
// names a Debian vmlinuz in SSIVM_TEST_VMLINUZ.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "common/file.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/x86/boot_params.h"
#include "hypervisor/x86/bzimage.h"
#include "hypervisor/x86/kernel_loader.h"
#include "hypervisor/x86/layout.h"
#include "hypervisor/x86/test_images.h"

namespace ssivm {
namespace {

using testing::Unpacked;

constexpr uint64_t kMiB = 1ull << 20;

TEST(RealBzImageTest, LoadsDebianKernel) {
  const char* path = std::getenv("SSIVM_TEST_VMLINUZ");
  if (path == nullptr || *path == '\0') {
    GTEST_SKIP() << "SSIVM_TEST_VMLINUZ not set (./ssi test provides it)";
  }
  const std::vector<uint8_t> file = ReadFileBytes(path, 256 * kMiB);

  const BzImage bz = ParseBzImage(file, path);
  const abi::SetupHeader& h = bz.hdr;
  std::cout << std::hex << "protocol " << h.version << ", pref_address " << h.pref_address
            << ", init_size " << h.init_size << ", kernel_alignment " << h.kernel_alignment
            << ", xloadflags " << h.xloadflags << ", cmdline_size " << std::dec << h.cmdline_size
            << ", setup " << bz.setup_size << " bytes, kernel " << bz.protected_mode.size()
            << " of " << file.size() - bz.setup_size << " bytes after setup\n";
  EXPECT_GE(Unpacked(h.version), 0x020c);
  EXPECT_TRUE(h.xloadflags & abi::kXlfKernel64);
  EXPECT_TRUE(h.relocatable_kernel);
  EXPECT_GE(bz.load_gpa, abi::kKernelBase);
  EXPECT_EQ(bz.load_gpa % h.kernel_alignment, 0u);
  EXPECT_EQ(bz.entry64, bz.load_gpa + 0x200);
  EXPECT_GE(bz.footprint, bz.protected_mode.size());

  const GuestLayout layout = GuestLayout::Compute(256, 2);
  testing::TestRam ram = testing::TestRam::ForLayout(layout);
  const LoadedKernel k = LoadKernel(file, path, ram.mem(), layout);
  ASSERT_EQ(k.format, LoadedKernel::Format::kBzImage);
  EXPECT_EQ(k.entry, bz.entry64);
  EXPECT_EQ(k.kernel_base, bz.load_gpa);
  EXPECT_EQ(k.kernel_end, bz.load_gpa + bz.footprint);
  ASSERT_TRUE(k.setup_header.has_value());
  // The 64-bit part is in place.
  const auto loaded = ram.mem().Span(k.kernel_base, bz.protected_mode.size());
  EXPECT_TRUE(std::equal(bz.protected_mode.begin(), bz.protected_mode.end(), loaded.begin()));

  const std::vector<uint8_t> initrd = testing::Pattern(64 * kMiB, 0x5a);
  const BootConfig config{.kernel_name = path,
                          .cmdline = "console=hvc0 earlyprintk=serial panic=-1 quiet",
                          .initrd = initrd,
                          .initrd_name = "initrd.img",
                          .host_kind = abi::HostKind::kHardware,
                          .node_count = 1};
  ASSERT_EQ(WriteBootInfo(ram.mem(), layout, k, config, &*k.setup_header), abi::kBootParamsGpa);

  const auto bp = ram.mem().ReadObject<abi::BootParams>(abi::kBootParamsGpa);
  EXPECT_EQ(Unpacked(bp.hdr.cmd_line_ptr), abi::kCmdlineGpa);
  const auto cmdline = ram.mem().Span(abi::kCmdlineGpa, config.cmdline.size() + 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(cmdline.data())), config.cmdline);

  const uint64_t rd_start = bp.hdr.ramdisk_image | (uint64_t{bp.ext_ramdisk_image} << 32);
  const uint64_t rd_size = bp.hdr.ramdisk_size | (uint64_t{bp.ext_ramdisk_size} << 32);
  EXPECT_EQ(rd_size, initrd.size());
  EXPECT_EQ(rd_start % abi::kPageSize, 0u);
  EXPECT_GE(rd_start, k.kernel_end);
  EXPECT_LE(rd_start + rd_size, 256 * kMiB);
  EXPECT_LE(rd_start + rd_size - 1, uint64_t{h.initrd_addr_max});

  EXPECT_EQ(bp.e820_entries, BuildE820(layout).size());
  EXPECT_EQ(bp.e820_entries, 4);

  // The image's header is copied; the loader's fields are filled in.
  EXPECT_EQ(Unpacked(bp.hdr.boot_flag), abi::kBootFlag);
  EXPECT_EQ(Unpacked(bp.hdr.header), abi::kHdrSMagic);
  EXPECT_EQ(Unpacked(bp.hdr.version), Unpacked(h.version));
  EXPECT_EQ(Unpacked(bp.hdr.setup_sects), Unpacked(h.setup_sects));
  EXPECT_EQ(Unpacked(bp.hdr.syssize), Unpacked(h.syssize));
  EXPECT_EQ(Unpacked(bp.hdr.init_size), Unpacked(h.init_size));
  EXPECT_EQ(Unpacked(bp.hdr.pref_address), Unpacked(h.pref_address));
  EXPECT_EQ(Unpacked(bp.hdr.kernel_alignment), Unpacked(h.kernel_alignment));
  EXPECT_EQ(Unpacked(bp.hdr.xloadflags), Unpacked(h.xloadflags));
  EXPECT_EQ(Unpacked(bp.hdr.handover_offset), Unpacked(h.handover_offset));
  EXPECT_EQ(Unpacked(bp.hdr.type_of_loader), 0xff);
  EXPECT_EQ(Unpacked(bp.hdr.setup_data), abi::kSetupDataGpa);

  const auto info =
      ram.mem().ReadObject<abi::SsivmInfo>(abi::kSetupDataGpa + sizeof(abi::SetupData));
  EXPECT_EQ(info.magic, abi::kSsivmInfoMagic);
  EXPECT_EQ(info.kernel_base, k.kernel_base);
  EXPECT_EQ(info.kernel_end, k.kernel_end);
}

}  // namespace
}  // namespace ssivm

#include "hypervisor/x86/bzimage.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"

// abi::SetupHeader is packed: its fields go to fmt and std::max as values,
// never as references (which may be misaligned: undefined behaviour).
namespace ssivm {
namespace {

constexpr size_t kBootFlagOffset = 0x1fe;
constexpr size_t kHeaderMagicOffset = 0x202;
constexpr size_t kJumpOffsetByte = 0x201;  // header ends at 0x202 + this byte

std::string ProtocolText(uint16_t version) {
  return fmt::format("{}.{:02}", version >> 8, version & 0xff);
}

// The header bytes the file has, up to sizeof(SetupHeader).
abi::SetupHeader ReadRawHeader(std::span<const uint8_t> file) {
  const size_t end =
      std::min<size_t>(file.size(), abi::kSetupHeaderOffset + sizeof(abi::SetupHeader));
  abi::SetupHeader hdr{};
  std::memcpy(&hdr, file.data() + abi::kSetupHeaderOffset, end - abi::kSetupHeaderOffset);
  return hdr;
}

// Zeroes the fields past the header's real end (0x202 + the byte at 0x201):
// there the file holds code, not header fields of a later protocol.
void TrimHeader(std::span<const uint8_t> file, abi::SetupHeader* hdr, std::string_view name) {
  const size_t header_end = kHeaderMagicOffset + file[kJumpOffsetByte];
  if (header_end < kBzImageMinSize) {
    throw Error(fmt::format(
        "{}: setup header ends at {:#x}, before init_size (0x260..0x264): not a boot protocol "
        "≥ 2.12 header",
        name, header_end));
  }
  const size_t keep = header_end - abi::kSetupHeaderOffset;
  if (keep < sizeof(abi::SetupHeader)) {
    std::memset(reinterpret_cast<uint8_t*>(hdr) + keep, 0, sizeof(abi::SetupHeader) - keep);
  }
}

void CheckSignatures(const abi::SetupHeader& hdr, std::string_view name) {
  if (hdr.boot_flag != abi::kBootFlag) {
    throw Error(fmt::format("{}: not a bzImage: boot_flag is {:#06x}, expected {:#06x}", name,
                            uint16_t{hdr.boot_flag}, abi::kBootFlag));
  }
  if (hdr.header != abi::kHdrSMagic) {
    throw Error(
        fmt::format("{}: not a bzImage: setup header magic is {:#010x}, expected {:#010x} "
                    "(\"HdrS\")",
                    name, uint32_t{hdr.header}, abi::kHdrSMagic));
  }
  if (hdr.version < kMinBootProtocol) {
    throw Error(fmt::format("{}: boot protocol {} is too old; ssivm needs ≥ {} (64-bit entry)",
                            name, ProtocolText(hdr.version), ProtocolText(kMinBootProtocol)));
  }
  if (!(hdr.xloadflags & abi::kXlfKernel64)) {
    throw Error(fmt::format(
        "{}: not a 64-bit kernel: xloadflags {:#x} lack XLF_KERNEL_64 (no 64-bit entry point)",
        name, uint16_t{hdr.xloadflags}));
  }
  if (!(hdr.loadflags & abi::kLoadedHigh)) {
    throw Error(
        fmt::format("{}: loadflags {:#x} lack LOADED_HIGH: zImage kernels are not supported", name,
                    hdr.loadflags));
  }
}

uint64_t ChooseLoadAddress(const abi::SetupHeader& hdr, std::string_view name) {
  const uint64_t align = hdr.kernel_alignment;
  const uint64_t pref = hdr.pref_address;
  if (!std::has_single_bit(align)) {
    throw Error(fmt::format("{}: kernel_alignment {:#x} is not a power of two", name, align));
  }
  if (!hdr.relocatable_kernel) {
    const uint64_t fixed = pref != 0 ? pref : hdr.code32_start;
    if (fixed < abi::kKernelBase) {
      throw Error(fmt::format(
          "{}: kernel is not relocatable and must run at {:#x}, below ssivm's kernel base {:#x} "
          "(build it with CONFIG_RELOCATABLE=y or CONFIG_PHYSICAL_START ≥ {:#x})",
          name, fixed, abi::kKernelBase, abi::kKernelBase));
    }
    return fixed;
  }
  const uint64_t want = std::max<uint64_t>(pref, abi::kKernelBase);
  if (want > UINT64_MAX - (align - 1)) {
    throw Error(
        fmt::format("{}: pref_address {:#x} cannot be aligned to {:#x}", name, pref, align));
  }
  return (want + align - 1) & ~(align - 1);
}

}  // namespace

bool LooksLikeBzImage(std::span<const uint8_t> file) {
  if (file.size() < kHeaderMagicOffset + 4) return false;
  uint16_t flag;
  uint32_t magic;
  std::memcpy(&flag, file.data() + kBootFlagOffset, sizeof(flag));
  std::memcpy(&magic, file.data() + kHeaderMagicOffset, sizeof(magic));
  return flag == abi::kBootFlag && magic == abi::kHdrSMagic;
}

BzImage ParseBzImage(std::span<const uint8_t> file, std::string_view name) {
  if (file.size() < kBzImageMinSize) {
    throw Error(fmt::format("{}: truncated bzImage: {} bytes, the setup header needs {:#x}", name,
                            file.size(), kBzImageMinSize));
  }
  BzImage image{};
  image.hdr = ReadRawHeader(file);
  CheckSignatures(image.hdr, name);
  TrimHeader(file, &image.hdr, name);
  const abi::SetupHeader& hdr = image.hdr;

  const size_t setup_sects = hdr.setup_sects == 0 ? 4 : hdr.setup_sects;
  image.setup_size = (setup_sects + 1) * 512;
  if (image.setup_size > file.size()) {
    throw Error(fmt::format("{}: truncated bzImage: {} bytes, the setup code alone needs {}", name,
                            file.size(), image.setup_size));
  }
  const uint64_t kernel_size = uint64_t{hdr.syssize} * 16;
  const uint64_t available = file.size() - image.setup_size;
  if (kernel_size == 0) throw Error(fmt::format("{}: bzImage has no kernel: syssize is 0", name));
  if (kernel_size > available) {
    throw Error(fmt::format(
        "{}: truncated bzImage: syssize says the kernel is {} bytes, only {} follow the setup code",
        name, kernel_size, available));
  }
  image.protected_mode = file.subspan(image.setup_size, kernel_size);

  image.load_gpa = ChooseLoadAddress(hdr, name);
  image.entry64 = image.load_gpa + kBzImageEntry64Offset;
  image.footprint = std::max<uint64_t>(hdr.init_size, kernel_size);
  if (image.footprint > UINT64_MAX - image.load_gpa) {
    throw Error(fmt::format("{}: kernel at {:#x} of {:#x} bytes wraps around the address space",
                            name, image.load_gpa, image.footprint));
  }
  return image;
}

void LoadBzImage(const BzImage& image, const GuestMemory& mem, std::string_view name) {
  if (!mem.Contains(image.load_gpa, image.footprint)) {
    throw Error(fmt::format(
        "{}: kernel needs guest RAM [{:#x}, {:#x}) ({} MiB from init_size) but that is not inside "
        "guest RAM; give the guest more --memory",
        name, image.load_gpa, image.load_gpa + image.footprint,
        (image.footprint + (1 << 20) - 1) >> 20));
  }
  mem.Write(image.load_gpa, image.protected_mode);
}

}  // namespace ssivm

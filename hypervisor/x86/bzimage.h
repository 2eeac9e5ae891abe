// Parsing and loading of Linux bzImage kernels through the 64-bit entry of
// the x86 boot protocol (Documentation/arch/x86/boot.rst): only the
// protected-mode part is loaded; the real-mode setup code is never run.
#ifndef SSIVM_HYPERVISOR_X86_BZIMAGE_H_
#define SSIVM_HYPERVISOR_X86_BZIMAGE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "guest/abi/boot_info.h"
#include "hypervisor/memory/guest_memory.h"

namespace ssivm {

// Boot protocol fields read here appeared in these versions.
inline constexpr uint16_t kMinBootProtocol = 0x020c;  // 2.12: xloadflags, 64-bit entry
inline constexpr uint64_t kBzImageMinSize = 0x264;    // through init_size
inline constexpr uint64_t kBzImageEntry64Offset = 0x200;

struct BzImage {
  // The image's setup header; bytes past its real end (0x202 + the byte at
  // 0x201) are zero.
  abi::SetupHeader hdr;
  size_t setup_size;                        // bytes of real-mode setup code, incl. the boot sector
  std::span<const uint8_t> protected_mode;  // the 64-bit kernel part (syssize * 16 bytes)
  uint64_t load_gpa;                        // where protected_mode goes
  uint64_t entry64;                         // load_gpa + 0x200
  uint64_t footprint;  // bytes reserved from load_gpa: max(init_size, protected_mode.size())
};

// True if the file has the boot sector flag and the "HdrS" signature.
bool LooksLikeBzImage(std::span<const uint8_t> file);

// Validates the setup header and chooses the load address: pref_address for
// a relocatable kernel whose pref_address is at or above abi::kKernelBase and
// aligned to kernel_alignment, otherwise the first such aligned address
// above both; a non-relocatable kernel runs only at its pref_address (or
// code32_start), which must then be at or above abi::kKernelBase. `file` must
// outlive the result. Throws Error("<name>: ...") naming the problem.
BzImage ParseBzImage(std::span<const uint8_t> file, std::string_view name);

// Copies the protected-mode part to load_gpa. Throws Error if
// [load_gpa, load_gpa + footprint) is not inside guest RAM.
void LoadBzImage(const BzImage& image, const GuestMemory& mem, std::string_view name);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_X86_BZIMAGE_H_

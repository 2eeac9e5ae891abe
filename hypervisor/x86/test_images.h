// Test helpers: guest RAM over anonymous host memory, and synthetic ELF and
// bzImage kernels built in memory.
#ifndef SSIVM_HYPERVISOR_X86_TEST_IMAGES_H_
#define SSIVM_HYPERVISOR_X86_TEST_IMAGES_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "common/mapping.h"
#include "guest/abi/boot_info.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/x86/layout.h"

namespace ssivm::testing {

// Guest RAM regions backed by sparse anonymous mappings (untouched pages cost
// nothing, so multi-GiB guests are fine).
class TestRam {
 public:
  struct Range {
    uint64_t gpa;
    uint64_t size;
  };
  explicit TestRam(const std::vector<Range>& ranges);
  // All RAM of `layout`.
  static TestRam ForLayout(const GuestLayout& layout);

  const GuestMemory& mem() const { return mem_; }

 private:
  std::vector<Mapping> maps_;
  GuestMemory mem_;
};

struct TestSegment {
  uint64_t gpa;
  std::vector<uint8_t> data;  // file contents
  uint64_t mem_size;          // >= data.size(): the rest is bss
  uint32_t flags;             // PF_R | PF_W | PF_X
};

// A valid x86-64 ET_EXEC ELF file: header, program headers, then each
// segment's data in order.
std::vector<uint8_t> MakeElf(uint64_t entry, const std::vector<TestSegment>& segments);

// The file offset of program header `index` in a MakeElf file.
uint64_t ElfPhdrOffset(size_t index);

// A valid relocatable 64-bit bzImage (protocol 2.15) with `setup_sects`
// sectors of setup code and a protected-mode part of `kernel` bytes; the
// kernel asks for init_size bytes, loads at pref_address 16 MiB, 2 MiB aligned.
std::vector<uint8_t> MakeBzImage(const std::vector<uint8_t>& kernel, uint8_t setup_sects = 4,
                                 uint32_t init_size = 8u << 20);

// Changes header fields of a bzImage in place.
void PatchHeader(std::vector<uint8_t>& image, const std::function<void(abi::SetupHeader&)>& edit);
abi::SetupHeader ReadHeader(const std::vector<uint8_t>& image);

// A field of a packed ABI struct (SetupHeader, E820Entry) as a value, for
// gtest's assertions: they take references, and a reference to such a field
// may be misaligned (undefined behaviour, which --config=asan reports).
template <class T>
T Unpacked(T value) {
  return value;
}

// `size` bytes of a recognisable pattern starting from `seed`.
std::vector<uint8_t> Pattern(size_t size, uint8_t seed);

}  // namespace ssivm::testing

#endif  // SSIVM_HYPERVISOR_X86_TEST_IMAGES_H_

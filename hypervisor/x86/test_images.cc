#include "hypervisor/x86/test_images.h"

#include <elf.h>

#include <cstring>

namespace ssivm::testing {

TestRam::TestRam(const std::vector<Range>& ranges) {
  std::vector<GuestMemory::Region> regions;
  for (const Range& r : ranges) {
    maps_.push_back(Mapping::Anonymous(r.size, "test guest RAM"));
    regions.push_back({.gpa = r.gpa, .size = r.size, .host = maps_.back().data()});
  }
  mem_ = GuestMemory(std::move(regions));
}

TestRam TestRam::ForLayout(const GuestLayout& layout) {
  std::vector<Range> ranges;
  for (const RamRange& r : layout.ram) ranges.push_back({.gpa = r.gpa, .size = r.size});
  return TestRam(ranges);
}

uint64_t ElfPhdrOffset(size_t index) {
  return sizeof(Elf64_Ehdr) + index * sizeof(Elf64_Phdr);
}

std::vector<uint8_t> MakeElf(uint64_t entry, const std::vector<TestSegment>& segments) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = entry;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<uint16_t>(segments.size());

  std::vector<uint8_t> file(ElfPhdrOffset(segments.size()));
  std::memcpy(file.data(), &eh, sizeof(eh));
  for (size_t i = 0; i < segments.size(); ++i) {
    const TestSegment& s = segments[i];
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = s.flags;
    ph.p_offset = file.size();
    ph.p_vaddr = s.gpa;
    ph.p_paddr = s.gpa;
    ph.p_filesz = s.data.size();
    ph.p_memsz = s.mem_size;
    ph.p_align = 0x1000;
    std::memcpy(file.data() + ElfPhdrOffset(i), &ph, sizeof(ph));
    file.insert(file.end(), s.data.begin(), s.data.end());
  }
  return file;
}

abi::SetupHeader ReadHeader(const std::vector<uint8_t>& image) {
  abi::SetupHeader hdr;
  std::memcpy(&hdr, image.data() + abi::kSetupHeaderOffset, sizeof(hdr));
  return hdr;
}

void PatchHeader(std::vector<uint8_t>& image, const std::function<void(abi::SetupHeader&)>& edit) {
  abi::SetupHeader hdr = ReadHeader(image);
  edit(hdr);
  std::memcpy(image.data() + abi::kSetupHeaderOffset, &hdr, sizeof(hdr));
}

std::vector<uint8_t> MakeBzImage(const std::vector<uint8_t>& kernel, uint8_t setup_sects,
                                 uint32_t init_size) {
  const size_t setup_size = (size_t{setup_sects == 0 ? 4u : setup_sects} + 1) * 512;
  std::vector<uint8_t> image(setup_size, 0);
  image.insert(image.end(), kernel.begin(), kernel.end());
  // The header runs to 0x202 + image[0x201] = 0x26c (protocol 2.15).
  image[0x200] = 0xeb;
  image[0x201] = 0x26c - 0x202;
  PatchHeader(image, [&](abi::SetupHeader& h) {
    h.setup_sects = setup_sects;
    h.syssize = static_cast<uint32_t>((kernel.size() + 15) / 16);
    h.boot_flag = abi::kBootFlag;
    h.header = abi::kHdrSMagic;
    h.version = 0x020f;
    h.loadflags = abi::kLoadedHigh;
    h.code32_start = 0x100000;
    h.initrd_addr_max = 0x7fffffff;
    h.kernel_alignment = 2u << 20;
    h.relocatable_kernel = 1;
    h.min_alignment = 21;
    h.xloadflags = abi::kXlfKernel64 | abi::kXlfCanBeLoadedAbove4G;
    h.cmdline_size = 2047;
    h.pref_address = abi::kKernelBase;
    h.init_size = init_size;
  });
  // syssize counts 16-byte paragraphs: pad the file to a whole one.
  image.resize(setup_size + (kernel.size() + 15) / 16 * 16, 0);
  return image;
}

std::vector<uint8_t> Pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return bytes;
}

}  // namespace ssivm::testing

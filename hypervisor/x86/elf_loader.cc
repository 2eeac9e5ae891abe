#include "hypervisor/x86/elf_loader.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"

namespace ssivm {
namespace {

// True if [offset, offset + size) lies inside a file of file_size bytes,
// without overflowing for hostile values.
bool InFile(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

template <class T>
T ReadStruct(std::span<const uint8_t> file, uint64_t offset) {
  T value;
  std::memcpy(&value, file.data() + offset, sizeof(T));
  return value;
}

void CheckHeader(const Elf64_Ehdr& eh, std::string_view name) {
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
    throw Error(fmt::format("{}: ELF class {} is not ELFCLASS64: ssivm loads only 64-bit kernels",
                            name, eh.e_ident[EI_CLASS]));
  }
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw Error(fmt::format("{}: ELF data encoding {} is not little-endian (ELFDATA2LSB)", name,
                            eh.e_ident[EI_DATA]));
  }
  if (eh.e_machine != EM_X86_64) {
    throw Error(fmt::format("{}: ELF machine {} is not x86-64 (EM_X86_64 = {})", name, eh.e_machine,
                            EM_X86_64));
  }
  if (eh.e_type != ET_EXEC) {
    throw Error(fmt::format(
        "{}: ELF type {} is not ET_EXEC ({}): ssivm loads only statically linked executables", name,
        eh.e_type, ET_EXEC));
  }
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
    throw Error(fmt::format("{}: ELF program header size is {} bytes, expected {}", name,
                            eh.e_phentsize, sizeof(Elf64_Phdr)));
  }
  if (eh.e_phnum == 0) throw Error(fmt::format("{}: ELF file has no program headers", name));
}

ElfSegment ParseLoadSegment(const Elf64_Phdr& ph, size_t index, uint64_t file_size,
                            std::string_view name) {
  if (ph.p_filesz > ph.p_memsz) {
    throw Error(fmt::format("{}: program header {}: file size {:#x} exceeds memory size {:#x}",
                            name, index, ph.p_filesz, ph.p_memsz));
  }
  if (!InFile(ph.p_offset, ph.p_filesz, file_size)) {
    throw Error(fmt::format(
        "{}: program header {}: file bytes [{:#x}, +{:#x}) lie outside the file ({} bytes)", name,
        index, ph.p_offset, ph.p_filesz, file_size));
  }
  if (ph.p_memsz > UINT64_MAX - ph.p_paddr) {
    throw Error(fmt::format("{}: program header {}: [{:#x}, +{:#x}) wraps around the address space",
                            name, index, ph.p_paddr, ph.p_memsz));
  }
  return ElfSegment{.gpa = ph.p_paddr,
                    .file_offset = ph.p_offset,
                    .file_size = ph.p_filesz,
                    .mem_size = ph.p_memsz,
                    .executable = (ph.p_flags & PF_X) != 0,
                    .writable = (ph.p_flags & PF_W) != 0};
}

void CheckNoOverlap(const std::vector<ElfSegment>& segments, std::string_view name) {
  std::vector<size_t> order(segments.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return segments[a].gpa < segments[b].gpa; });
  for (size_t k = 1; k < order.size(); ++k) {
    const ElfSegment& lo = segments[order[k - 1]];
    const ElfSegment& hi = segments[order[k]];
    if (lo.gpa + lo.mem_size > hi.gpa) {
      throw Error(fmt::format("{}: segment {} [{:#x}, {:#x}) overlaps segment {} [{:#x}, {:#x})",
                              name, order[k - 1], lo.gpa, lo.gpa + lo.mem_size, order[k], hi.gpa,
                              hi.gpa + hi.mem_size));
    }
  }
}

}  // namespace

bool LooksLikeElf(std::span<const uint8_t> file) {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

ElfImage ParseElf64(std::span<const uint8_t> file, std::string_view name) {
  if (file.size() < sizeof(Elf64_Ehdr)) {
    throw Error(fmt::format("{}: truncated ELF file: {} bytes, the ELF header alone needs {}", name,
                            file.size(), sizeof(Elf64_Ehdr)));
  }
  if (!LooksLikeElf(file)) {
    throw Error(fmt::format("{}: not an ELF file: bad magic {:02x} {:02x} {:02x} {:02x}", name,
                            file[0], file[1], file[2], file[3]));
  }
  const auto eh = ReadStruct<Elf64_Ehdr>(file, 0);
  CheckHeader(eh, name);
  const uint64_t table_size = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (!InFile(eh.e_phoff, table_size, file.size())) {
    throw Error(fmt::format(
        "{}: truncated ELF file: program header table [{:#x}, +{:#x}) lies outside the file ({} "
        "bytes)",
        name, eh.e_phoff, table_size, file.size()));
  }

  ElfImage image{.entry = eh.e_entry, .segments = {}, .lowest_gpa = UINT64_MAX, .end_gpa = 0};
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    const auto ph = ReadStruct<Elf64_Phdr>(file, eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    const ElfSegment s = ParseLoadSegment(ph, i, file.size(), name);
    image.lowest_gpa = std::min(image.lowest_gpa, s.gpa);
    image.end_gpa = std::max(image.end_gpa, s.gpa + s.mem_size);
    image.segments.push_back(s);
  }
  if (image.segments.empty()) {
    throw Error(fmt::format("{}: ELF file has no PT_LOAD segment with contents", name));
  }
  CheckNoOverlap(image.segments, name);

  const bool entry_ok =
      std::any_of(image.segments.begin(), image.segments.end(), [&](const ElfSegment& s) {
        return s.executable && image.entry >= s.gpa && image.entry - s.gpa < s.mem_size;
      });
  if (!entry_ok) {
    throw Error(fmt::format(
        "{}: entry point {:#x} is not inside an executable PT_LOAD segment (by physical address)",
        name, image.entry));
  }
  return image;
}

void LoadElf(const ElfImage& image, std::span<const uint8_t> file, const GuestMemory& mem,
             std::string_view name) {
  for (size_t i = 0; i < image.segments.size(); ++i) {
    const ElfSegment& s = image.segments[i];
    if (s.gpa < abi::kKernelBase) {
      throw Error(fmt::format("{}: segment {} [{:#x}, {:#x}) lies below the kernel base {:#x}",
                              name, i, s.gpa, s.gpa + s.mem_size, abi::kKernelBase));
    }
    if (!mem.Contains(s.gpa, s.mem_size)) {
      throw Error(fmt::format("{}: segment {} [{:#x}, {:#x}) lies outside guest RAM", name, i,
                              s.gpa, s.gpa + s.mem_size));
    }
    if (s.file_size > s.mem_size || !InFile(s.file_offset, s.file_size, file.size())) {
      throw Error(fmt::format("{}: segment {} file bytes [{:#x}, +{:#x}) lie outside the file",
                              name, i, s.file_offset, s.file_size));
    }
  }
  for (const ElfSegment& s : image.segments) {
    mem.Write(s.gpa, file.subspan(s.file_offset, s.file_size));
    mem.Fill(s.gpa + s.file_size, s.mem_size - s.file_size, 0);
  }
}

}  // namespace ssivm

#include "hypervisor/emulated/cpio.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::emulated {
namespace {

std::string Clean(const std::string& path) {
  size_t b = 0, e = path.size();
  while (b < e && path[b] == '/') ++b;
  while (e > b && path[e - 1] == '/') --e;
  if (b == e) throw Error(fmt::format("cpio: empty path '{}'", path));
  return path.substr(b, e - b);
}

void Pad4(std::vector<uint8_t>& out) {
  while (out.size() % 4 != 0) out.push_back(0);
}

}  // namespace

void CpioWriter::Parents(const std::string& path) {
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (dirs_.insert(dir).second) Entry(dir, S_IFDIR | 0755, {});
  }
}

void CpioWriter::Directory(const std::string& path, uint32_t mode) {
  const std::string p = Clean(path);
  Parents(p);
  if (dirs_.insert(p).second) Entry(p, S_IFDIR | (mode & 07777), {});
}

void CpioWriter::File(const std::string& path, std::span<const uint8_t> data, uint32_t mode) {
  const std::string p = Clean(path);
  Parents(p);
  Entry(p, S_IFREG | (mode & 07777), data);
}

void CpioWriter::File(const std::string& path, const std::string& text, uint32_t mode) {
  File(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), mode);
}

void CpioWriter::Symlink(const std::string& path, const std::string& target) {
  const std::string p = Clean(path);
  Parents(p);
  Entry(p, S_IFLNK | 0777,
        std::span(reinterpret_cast<const uint8_t*>(target.data()), target.size()));
}

void CpioWriter::CharDevice(const std::string& path, uint32_t major, uint32_t minor,
                            uint32_t mode) {
  const std::string p = Clean(path);
  Parents(p);
  Entry(p, S_IFCHR | (mode & 07777), {}, major, minor);
}

void CpioWriter::Entry(const std::string& path, uint32_t mode, std::span<const uint8_t> data,
                       uint32_t rdev_major, uint32_t rdev_minor) {
  if (data.size() > 0xffffffffu) throw Error(fmt::format("cpio: {} is larger than 4 GiB", path));
  const uint32_t ino = path == "TRAILER!!!" ? 0 : next_ino_++;
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const std::string header = fmt::format(
      "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}", ino,
      mode, 0, 0, 1, 0, data.size(), 0, 0, rdev_major, rdev_minor, path.size() + 1, 0);
  out_.insert(out_.end(), header.begin(), header.end());
  out_.insert(out_.end(), path.begin(), path.end());
  out_.push_back(0);
  Pad4(out_);
  out_.insert(out_.end(), data.begin(), data.end());
  Pad4(out_);
}

std::vector<uint8_t> CpioWriter::Finish() {
  Entry("TRAILER!!!", 0, {});
  std::vector<uint8_t> out = std::move(out_);
  out_.clear();
  dirs_.clear();
  next_ino_ = 1;
  return out;
}

}  // namespace ssivm::emulated

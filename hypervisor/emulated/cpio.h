// A newc ("070701") cpio archive, the format the Linux initramfs unpacker
// reads. Written in memory without root: device nodes and modes are only
// header fields. Entries are reproducible (mtime 0, uid/gid 0).
#ifndef SSIVM_HYPERVISOR_EMULATED_CPIO_H_
#define SSIVM_HYPERVISOR_EMULATED_CPIO_H_

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace ssivm::emulated {

class CpioWriter {
 public:
  // Paths are relative to the archive root ("bin/sh"); missing parent
  // directories are added first.
  void Directory(const std::string& path, uint32_t mode = 0755);
  void File(const std::string& path, std::span<const uint8_t> data, uint32_t mode = 0644);
  void File(const std::string& path, const std::string& text, uint32_t mode = 0644);
  void Symlink(const std::string& path, const std::string& target);
  void CharDevice(const std::string& path, uint32_t major, uint32_t minor, uint32_t mode = 0600);
  // The archive with its trailer; the writer is empty afterwards.
  std::vector<uint8_t> Finish();

 private:
  void Parents(const std::string& path);
  void Entry(const std::string& path, uint32_t mode, std::span<const uint8_t> data,
             uint32_t rdev_major = 0, uint32_t rdev_minor = 0);

  std::vector<uint8_t> out_;
  std::set<std::string> dirs_;
  uint32_t next_ino_ = 1;
};

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_CPIO_H_

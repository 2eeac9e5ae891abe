// Whole-file reading and writing with errors that name the file, and the one
// way files and directories are created where others could plant something
// (/tmp, a run directory): nothing there is followed or reused.
#ifndef SSIVM_COMMON_FILE_H_
#define SSIVM_COMMON_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ssivm {

// Reads a regular file completely; refuses files larger than max_bytes.
std::vector<uint8_t> ReadFileBytes(const std::string& path, uint64_t max_bytes);

// Replaces `path` with a file holding `bytes` (mode `mode`), atomically: the
// bytes go to a new temporary file beside it (a random name, created with
// O_EXCL: a symbolic link or file planted there is never written through),
// are synced, and the file is renamed over `path`.
void WriteFileAtomic(const std::string& path, std::string_view bytes, mode_t mode);

// As WriteFileAtomic, but only if nothing is at `path` (not even a dangling
// symbolic link): returns false, changing nothing, if something is. The
// complete file appears at once (a hard link), so a reader never sees it
// half-written.
bool CreateFileExclusive(const std::string& path, std::string_view bytes, mode_t mode);

// How EnsurePrivateDir treats a directory that is already there.
enum class ExistingDir {
  kTighten,  // ours: made 0700 (a directory ssivm owns, e.g. /tmp/ssivm-UID)
  kKeep,     // left as it is (a directory the user named)
};

// Makes `path` a directory only this user can use (mode 0700; missing parents
// are made 0700 too), or checks the one there: a directory (not a symbolic
// link), owned by this process's effective user, writable by no one else.
// Throws Error naming the directory and the problem (e.g. its owner's uid).
void EnsurePrivateDir(const std::string& path, ExistingDir existing);

}  // namespace ssivm

#endif  // SSIVM_COMMON_FILE_H_

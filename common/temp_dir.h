// A private directory (mode 0700, under $TMPDIR or /tmp), removed with all
// it holds when the object goes.
#ifndef SSIVM_COMMON_TEMP_DIR_H_
#define SSIVM_COMMON_TEMP_DIR_H_

#include <string>

namespace ssivm {

// Where temporary directories go: $TMPDIR if it is absolute and short
// (Unix socket paths inside must stay short), else /tmp.
std::string TempBase();

class TempDir {
 public:
  // `prefix`: the directory's name before its random part.
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ssivm

#endif  // SSIVM_COMMON_TEMP_DIR_H_

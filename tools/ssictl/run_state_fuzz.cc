// Fuzz target: a VM's run-state file (RUNDIR/NAME.json, written by `ssictl
// up`) as `ssictl status` and `down` read it through RunningVms(). The run
// directory is writable by its user, so the file is outside input. A bad
// file is skipped or rejected with Error; any other exception is a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/error.h"
#include "common/temp_dir.h"
#include "tests/support/fuzz.h"
#include "tools/ssictl/run_state.h"

namespace {

// The run directory of this process: a temporary one, named by
// SSIVM_RUN_DIR before RunDir() is first asked.
const std::string& RunStatePath() {
  static const ssivm::TempDir dir("ssivm-run-state-fuzz");
  static const std::string path = [] {
    ::setenv("SSIVM_RUN_DIR", dir.path().c_str(), 1);
    return dir.path() + "/vm.json";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = RunStatePath();
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    ssivm::fuzz::Check(f.good(), "the run-state file is written");
  }
  try {
    (void)ssivm::RunningVms();
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

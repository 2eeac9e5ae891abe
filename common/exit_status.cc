#include "common/exit_status.h"

#include <sys/wait.h>

namespace ssivm {

int ExitStatusOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return kExitSignalBase + WTERMSIG(wait_status);
  return kExitVmmError;
}

}  // namespace ssivm

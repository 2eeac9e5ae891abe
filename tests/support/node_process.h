// Node processes of one VM on this machine, for tests that talk to them while
// they run: a manifest of nodes on localhost, and a node process whose
// console the test reads (and types into), freezes or kills.
#ifndef SSIVM_TESTS_SUPPORT_NODE_PROCESS_H_
#define SSIVM_TESTS_SUPPORT_NODE_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ssivm::testing {

// One node on localhost per entry of `ids`, their node ids (a manifest after
// `ssictl node remove` has gaps): the k-th listens on port0 + k, runs
// `vcpus_per_node` vCPUs ([k * n, (k + 1) * n)) and has `memory_mib[k]`
// MiB (64 if not given); the guest kernel of this tree, and a secret beside
// the manifest (as `ssictl up` would make it); `top` is added to the top
// table, `node_lines` to every node's. In TEST_TMPDIR (or /tmp).
std::string WriteManifest(const std::string& name, uint16_t port0, const std::string& cmdline,
                          const std::vector<int>& ids = {0, 1}, const std::string& top = "",
                          uint32_t vcpus_per_node = 1, const std::vector<uint64_t>& memory_mib = {},
                          const std::string& node_lines = "");

// A port range of this test process's own (by pid), for node addresses.
uint16_t PortBase();

// A node process whose console output the test reads while it runs, and
// whose console input (its stdin) the test writes; stopped (SIGTERM, or
// SIGKILL if it does not end in time, frozen or not) and reaped when it goes
// out of scope.
class NodeProcess {
 public:
  // What the test reads as the process's output: its stdout (the guest's
  // console), or that and its stderr (its log) as they come; else its stderr
  // is the test's.
  enum class Output { kStdout, kStdoutAndStderr };

  explicit NodeProcess(const std::vector<std::string>& argv, Output output = Output::kStdout);
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  const std::string& out() const { return out_; }
  pid_t pid() const { return pid_; }

  // Reads the output until it contains `text`; false if the process ends or
  // `timeout` passes first.
  bool WaitFor(const std::string& text, std::chrono::seconds timeout);
  // Writes `text` to the process's stdin (its console, with --console stdio).
  bool Type(const std::string& text);
  // Waits until the process ends (reading its output meanwhile); its exit
  // status, or -1 if it did not end within `timeout`.
  int WaitExit(std::chrono::seconds timeout);
  // Sends `sig` (SIGSTOP, SIGCONT, SIGKILL: a frozen or dead node) while the
  // process is this object's: false once WaitExit reaped it.
  bool Signal(int sig) const;

 private:
  // Appends what the process wrote next; false at its end or the deadline.
  bool ReadMore(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;
  std::string out_;
};

}  // namespace ssivm::testing

#endif  // SSIVM_TESTS_SUPPORT_NODE_PROCESS_H_

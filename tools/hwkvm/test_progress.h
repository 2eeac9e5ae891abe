// A VM test program's cases across emulated machines. Inside the emulated
// hardware-KVM machine the test program writes one JSON line per event
// (which cases it will run, which one starts, how each ended) to a file the
// host reads. When the emulated machine's nested-SVM fault hits (docs/emulated-machine.md,
// "Known emulator fault": the machine dies or hangs, or a guest vCPU ran in
// kvm_amd's code), the host runs the case it hit, and the cases after it, in
// a new machine; every other result stands as it was. Pure logic.
#ifndef SSIVM_TOOLS_HWKVM_TEST_PROGRESS_H_
#define SSIVM_TOOLS_HWKVM_TEST_PROGRESS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssivm::hwkvm {

// The file the test program inside writes its progress to.
inline constexpr char kProgressEnv[] = "SSIVM_TEST_PROGRESS";
// The test program's status when it stops at the emulator fault.
inline constexpr int kEmulatorFaultStatus = 75;

enum class CaseOutcome {

  kPassed,
  kFailed,
  kSkipped,
  kEmulatorFault,  // ended (either way) after the emulator fault hit its machine
};

struct CaseId {
  std::string suite;
  std::string name;
  std::string FullName() const { return suite + "." + name; }
  bool operator==(const CaseId&) const = default;
};

struct CaseEnd {
  CaseId id;
  CaseOutcome outcome = CaseOutcome::kFailed;
  double seconds = 0;
  std::string message;  // failures, or the emulator fault's evidence
};

// The lines the test program writes (each ends in '\n').
std::string PlanLine(const CaseId& id);
std::string StartLine(const CaseId& id);
std::string EndLine(const CaseEnd& end);

// What one machine's run wrote. A torn last line (the machine died while it
// was written) is ignored; any other line that is not ours is an error.
struct RunProgress {
  std::vector<CaseId> planned;
  std::vector<CaseEnd> ended;
  std::optional<CaseId> in_flight;  // started, never ended
};
RunProgress ParseProgress(std::string_view text);

// A case's final result, after all its attempts.
struct CaseResult {
  CaseId id;
  CaseOutcome outcome = CaseOutcome::kFailed;  // never kEmulatorFault
  double seconds = 0;
  std::string message;
  int attempts = 0;  // machines the case started in
};

// Which cases still need a machine, across the machines of one test run.
class CaseLedger {
 public:
  explicit CaseLedger(int max_attempts) : max_attempts_(max_attempts) {}

  // One machine's run: what it wrote, and why the machine failed (empty:
  // the test program ran to its end, with `status`).
  void Record(const RunProgress& run, const std::string& machine_failure, int status);

  // The cases the next machine runs; empty when done. Before any machine
  // said what it would run (the first, or one that died before it did),
  // `rerun_all` is set instead.
  struct Next {
    bool done = false;
    bool rerun_all = false;
    std::vector<CaseId> cases;
  };
  Next NextRun() const;

  // Gives up on whatever is left (no time for another machine).
  void Abandon(const std::string& why);

  bool planned() const { return !plan_.empty(); }
  // In plan order; only the cases that have a final result.
  std::vector<CaseResult> Results() const;
  // Cases that needed more than one machine.
  std::vector<std::string> Retried() const;
  int failed() const;

 private:
  void Finish(const CaseId& id, CaseOutcome o, double seconds, const std::string& message);
  void Attempted(const CaseId& id, const std::string& why);

  int max_attempts_;
  int unplanned_runs_ = 0;
  bool unplanned_machine_failed_ = false;
  int idle_runs_ = 0;  // planned runs whose machine failed before a case started

  std::vector<CaseId> plan_;
  std::map<std::string, CaseResult> final_;
  std::map<std::string, int> attempts_;
  std::map<std::string, std::string> last_fault_;
};

// The JUnit XML Bazel and ./ssi test read for the results.
std::string JunitXml(const std::string& program, const std::vector<CaseResult>& results);

const char* CaseOutcomeName(CaseOutcome o);

}  // namespace ssivm::hwkvm

#endif  // SSIVM_TOOLS_HWKVM_TEST_PROGRESS_H_

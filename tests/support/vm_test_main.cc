// main() of the tests that boot VMs: where the host has no usable /dev/kvm,
// the test program runs again inside the emulated hardware-KVM machine
// (tools/hwkvm/vm_test.h), and its status is this program's. Inside, it
// reports each case to the host (tools/hwkvm/test_progress.h) and stops at
// the first sign of the emulator fault, so that the cases left run in a new
// machine.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "common/unique_fd.h"
#include "hypervisor/emulated/agent.h"
#include "hypervisor/emulated/l1_setup.h"
#include "tools/hwkvm/test_progress.h"
#include "tools/hwkvm/vm_test.h"

namespace {

using ssivm::hwkvm::CaseEnd;
using ssivm::hwkvm::CaseId;
using ssivm::hwkvm::CaseOutcome;

constexpr size_t kMaxFailureText = 8192;
constexpr const char* kNeedsHardwareEnv = "SSIVM_VM_TEST_NEEDS_HARDWARE";
// How often a running case looks for the emulator fault's signs: a guest
// vCPU caught in kvm_amd's code spins there until the case's own timeout
// (16 minutes in emulation; seen twice in one CI rehearsal).
constexpr auto kFaultCheckInterval = std::chrono::seconds(10);

CaseId IdOf(const ::testing::TestInfo& t) {
  return {t.test_suite_name(), t.name()};
}

class ProgressReporter : public ::testing::EmptyTestEventListener {
 public:
  explicit ProgressReporter(ssivm::UniqueFd fd)
      : fd_(std::move(fd)), watcher_([this](const std::stop_token& stop) { Watch(stop); }) {}

  void OnTestIterationStart(const ::testing::UnitTest& u, int /*iteration*/) override {
    for (int i = 0; i < u.total_test_suite_count(); ++i) {
      const ::testing::TestSuite* s = u.GetTestSuite(i);
      for (int j = 0; j < s->total_test_count(); ++j) {
        if (s->GetTestInfo(j)->should_run())
          Write(ssivm::hwkvm::PlanLine(IdOf(*s->GetTestInfo(j))));
      }
    }
  }

  void OnTestStart(const ::testing::TestInfo& t) override {
    const std::lock_guard lock(mu_);
    failures_.clear();
    running_ = IdOf(t);
    started_ = std::chrono::steady_clock::now();
    Write(ssivm::hwkvm::StartLine(IdOf(t)));
  }

  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    const std::lock_guard lock(mu_);
    if (!r.failed() || failures_.size() > kMaxFailureText) return;
    failures_ += fmt::format("{}:{}: {}\n", r.file_name() != nullptr ? r.file_name() : "?",
                             r.line_number(), r.summary());
  }

  void OnTestEnd(const ::testing::TestInfo& t) override {
    const std::lock_guard lock(mu_);
    running_.reset();
    CaseEnd e;
    e.id = IdOf(t);
    e.seconds = static_cast<double>(t.result()->elapsed_time()) / 1000.0;
    e.outcome = t.result()->Skipped()  ? CaseOutcome::kSkipped
                : t.result()->Passed() ? CaseOutcome::kPassed
                                       : CaseOutcome::kFailed;
    e.message = failures_;
    if (e.outcome == CaseOutcome::kFailed) {
      // Where a guest triple-faulted, which its VMM cannot see.
      if (const std::string s = ssivm::emulated::GuestShutdownTrace(); !s.empty()) {
        std::fprintf(stderr, "guest triple faults in the machine's trace (kvm:kvm_exit):\n%s",
                     s.c_str());
        e.message += "guest triple faults (kvm:kvm_exit in the machine):\n" + s;
      }
    }
    const std::string evidence = ssivm::emulated::EmulatorFaultEvidence();
    if (!evidence.empty() && e.outcome == CaseOutcome::kFailed) {
      e.outcome = CaseOutcome::kEmulatorFault;
      e.message = evidence + "\n" + e.message;
    }

    Write(ssivm::hwkvm::EndLine(e));
    if (!evidence.empty()) StopForTheFault(e, evidence);
  }

 private:
  [[noreturn]] static void StopForTheFault(const CaseEnd& e, const std::string& evidence) {
    std::fprintf(stderr,
                 "\nthe emulator fault hit this machine during %s.%s (%s): the cases left run "
                 "in a new machine\n",
                 e.id.suite.c_str(), e.id.name.c_str(), evidence.c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(ssivm::hwkvm::kEmulatorFaultStatus);
  }

  // While a case runs: on a sign of the fault, end it as hit by the fault
  // and stop (the machine's agent then stops what the case started).
  void Watch(const std::stop_token& stop) {
    std::mutex sleep_mu;
    std::condition_variable_any wake;
    std::unique_lock sleep_lock(sleep_mu);
    for (;;) {
      wake.wait_for(sleep_lock, stop, kFaultCheckInterval, [] { return false; });
      if (stop.stop_requested()) return;
      const std::string evidence = ssivm::emulated::EmulatorFaultEvidence();
      if (evidence.empty()) continue;
      const std::lock_guard lock(mu_);
      if (!running_) continue;  // OnTestEnd sees it and stops
      CaseEnd e;
      e.id = *running_;
      e.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      e.outcome = CaseOutcome::kEmulatorFault;
      e.message =
          evidence + " (while the case ran)\n" + failures_ + ssivm::emulated::GuestShutdownTrace();
      Write(ssivm::hwkvm::EndLine(e));
      StopForTheFault(e, evidence);
    }
  }

  void Write(const std::string& line) {
    // One write per line, appended: the host reads whatever a dying
    // machine managed to write.
    if (::write(fd_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      std::fprintf(stderr, "cannot report test progress: %s\n", std::strerror(errno));
    }
  }

  ssivm::UniqueFd fd_;
  std::mutex mu_;  // the case's state below, and the progress file
  std::string failures_;
  std::optional<CaseId> running_;
  std::chrono::steady_clock::time_point started_;
  std::jthread watcher_;  // last: stopped and joined first
};

// Inside the emulated machine, with the host asking for progress.
void ReportProgressIfAsked() {
  const char* path = std::getenv(ssivm::hwkvm::kProgressEnv);
  const char* inside = std::getenv("SSIVM_HWKVM_INSIDE");
  if (path == nullptr || inside == nullptr || std::string(inside) != "1") return;
  ssivm::UniqueFd fd(::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.valid()) ssivm::ThrowErrno(fmt::format("open {}", path));
  ::testing::UnitTest::GetInstance()->listeners().Append(
      std::make_unique<ProgressReporter>(std::move(fd)).release());
}

}  // namespace

int main(int argc, char** argv) {
  ssivm::emulated::RunAgentIfAsked(argc, argv);
  try {
    std::vector<std::string> self = {std::filesystem::read_symlink("/proc/self/exe").string()};
    self.insert(self.end(), argv + 1, argv + argc);
    // A test that needs hardware KVM (BUILD: env SSIVM_VM_TEST_NEEDS_HARDWARE=1)
    // goes to the emulated machine on a host whose KVM is PVM.
    const char* hardware = std::getenv(kNeedsHardwareEnv);
    const bool needs_hardware = hardware != nullptr && std::string(hardware) == "1";
    if (auto status = ssivm::hwkvm::RunInEmulatedMachineIfNeeded(self, needs_hardware)) {
      return *status;
    }
    ::testing::InitGoogleMock(&argc, argv);
    ReportProgressIfAsked();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot run this test where KVM is: %s\n", e.what());
    return 1;
  }
  return RUN_ALL_TESTS();
}

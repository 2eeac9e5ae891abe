#include "tools/hwkvm/vm_test.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "common/temp_dir.h"

#include "hypervisor/emulated/runtime.h"

namespace ssivm::hwkvm {
namespace fs = std::filesystem;
namespace {

// Time kept back from Bazel's timeout to stop the machine and show its log.
constexpr std::chrono::seconds kTimeoutMargin{60};

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string s(*e);
    const size_t eq = s.find('=');
    if (eq != std::string::npos) env[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return env;
}

uint64_t EnvNumber(const std::map<std::string, std::string>& env, const std::string& name,
                   uint64_t fallback) {
  const auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return fallback;
  try {
    return std::stoull(it->second);
  } catch (const std::exception&) {
    throw Error(fmt::format("{}={} is not a number", name, it->second));
  }
}

}  // namespace

std::vector<std::string> OutermostDirs(std::vector<std::string> dirs) {
  for (std::string& d : dirs) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
  }
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  std::vector<std::string> out;
  for (const std::string& d : dirs) {
    const bool inside = std::any_of(out.begin(), out.end(), [&](const std::string& o) {
      return o == "/" || d.rfind(o + "/", 0) == 0;
    });
    if (!inside) out.push_back(d);
  }
  return out;
}

BazelTestLayout LayoutFromEnv(const std::map<std::string, std::string>& env) {
  BazelTestLayout l;
  std::vector<std::string> dirs;
  const auto get = [&](const char* name) -> std::string {
    const auto it = env.find(name);
    return it == env.end() ? "" : it->second;
  };
  for (const char* d : {"TEST_TMPDIR", "TEST_UNDECLARED_OUTPUTS_DIR"}) {
    if (!get(d).empty()) dirs.push_back(get(d));
  }
  for (const char* f : {"XML_OUTPUT_FILE", "TEST_PREMATURE_EXIT_FILE", "TEST_WARNINGS_OUTPUT_FILE",
                        "TEST_INFRASTRUCTURE_FAILURE_FILE", "TEST_SHARD_STATUS_FILE",
                        "TEST_UNUSED_RUNFILES_LOG_FILE"}) {
    const std::string path = get(f);
    if (path.empty()) continue;
    const size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) dirs.push_back(path.substr(0, slash));
  }
  l.rw_dirs = OutermostDirs(dirs);
  const uint64_t t = EnvNumber(env, "TEST_TIMEOUT", 0);
  if (t > 0) {
    l.timeout = std::chrono::seconds(std::max<int64_t>(
        static_cast<int64_t>(t) - kTimeoutMargin.count(), static_cast<int64_t>(t / 2)));
  }
  if (!get("TEST_UNDECLARED_OUTPUTS_DIR").empty()) {
    l.log_path = get("TEST_UNDECLARED_OUTPUTS_DIR") + "/l1-console.log";
  }
  return l;
}

std::optional<int> RunInEmulatedMachineIfNeeded(const std::vector<std::string>& argv,
                                                bool need_hardware) {
  using emulated::KvmChoice;
  const KvmChoice choice = emulated::ChoiceFrom("auto");
  const emulated::KvmDecision d =
      emulated::DecideKvm(choice, emulated::ProbeHostKvm(), "/dev/kvm", need_hardware);
  if (!d.emulated) return std::nullopt;
  const std::map<std::string, std::string> env = Environment();
  const BazelTestLayout layout = LayoutFromEnv(env);
  for (const std::string& dir : layout.rw_dirs) fs::create_directories(dir);
  emulated::MachineOptions o;
  o.cpus = static_cast<uint32_t>(
      EnvNumber(env, "SSIVM_HWKVM_CPUS", std::max(1u, std::thread::hardware_concurrency())));
  o.memory_mib = EnvNumber(env, "SSIVM_HWKVM_MEMORY_MIB", 4096);
  o.nested_paging = EnvNumber(env, "SSIVM_HWKVM_NPT", 1) != 0;

  // Where the test program tells which cases it runs and how they end.
  std::optional<TempDir> own_dir;
  std::string progress_dir = env.count("TEST_TMPDIR") != 0 ? env.at("TEST_TMPDIR") : "";
  if (progress_dir.empty()) {
    own_dir.emplace("hwkvm-test");
    progress_dir = own_dir->path();
  }
  std::vector<std::string> rw = layout.rw_dirs;
  rw.push_back(progress_dir);
  o.rw_dirs = OutermostDirs(rw);
  o.log_path = layout.log_path;
  // A machine boots in ~10 s; one that is not up in 2 minutes hangs (a soft
  // lockup of its first process was seen once) and a new one is cheaper.
  o.boot_timeout = kTestBootTimeout;
  // Tests never download: ./ssi test prepares the cache (hwkvm fetch).

  o.offline = true;
  const std::string name = fs::path(argv[0]).filename().string();
  std::fprintf(stderr, "%s: %s: running the test in the emulated hardware-KVM machine\n",
               name.c_str(), d.reason.c_str());

  const auto deadline = std::chrono::steady_clock::now() + layout.timeout;
  CaseLedger ledger(kMachinesPerCase);
  emulated::MachineRun last;  // the last machine's
  int machines = 0;
  for (;;) {
    const CaseLedger::Next next = ledger.NextRun();
    if (next.done) break;
    std::vector<std::string> args = argv;
    if (machines > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(
          deadline - std::chrono::steady_clock::now());
      if (layout.timeout.count() > 0 && left < kLeastMachineTime) {
        ledger.Abandon(
            fmt::format("no time was left for another emulated machine ({} s)", left.count()));
        break;
      }
      if (!next.rerun_all) {
        args = WithOnlyCases(argv, next.cases);
        // The cases are this shard's already.
        for (const char* v : {"GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS", "TESTBRIDGE_TEST_ONLY"}) {
          ::unsetenv(v);
        }
      }
      const std::string what = next.rerun_all
                                   ? std::string("running the test again")
                                   : fmt::format("running {} case(s), from {},", next.cases.size(),
                                                 next.cases.front().FullName());
      std::fprintf(stderr, "%s: %s in a new emulated machine (the emulator fault hit the last)\n",
                   name.c_str(), what.c_str());
    }
    ++machines;
    const std::string progress =
        fmt::format("{}/hwkvm-test-progress-{}.jsonl", progress_dir, machines);
    fs::remove(progress);
    ::setenv(kProgressEnv, progress.c_str(), 1);
    if (layout.timeout.count() > 0) {
      o.timeout = std::chrono::duration_cast<std::chrono::seconds>(
          deadline - std::chrono::steady_clock::now());
    }
    last = emulated::RunCommandInEmulatedMachineFor(name, args, o);
    std::ifstream f(progress);
    std::stringstream text;
    text << f.rdbuf();
    ledger.Record(ParseProgress(text.str()), last.machine_failed ? last.message : "", last.status);
    if (last.stop_signal != 0) {
      // Told to stop (Bazel's timeout, Ctrl-C): no new machine for what is left.
      ledger.Abandon(fmt::format("the test was stopped by signal {} ({})", last.stop_signal,
                                 ::strsignal(last.stop_signal)));
      break;
    }
  }
  if (!ledger.planned()) return last.status;  // not a test program that says what it runs

  const std::vector<CaseResult> results = ledger.Results();
  if (env.count("XML_OUTPUT_FILE") != 0) {
    std::ofstream(env.at("XML_OUTPUT_FILE")) << JunitXml(name, results);
  }
  int passed = 0, skipped = 0;
  for (const CaseResult& c : results) {
    passed += c.outcome == CaseOutcome::kPassed ? 1 : 0;
    skipped += c.outcome == CaseOutcome::kSkipped ? 1 : 0;
    if (c.outcome == CaseOutcome::kFailed) {
      std::fprintf(stderr, "%s: FAILED %s: %s\n", name.c_str(), c.id.FullName().c_str(),
                   c.message.c_str());
    }
  }
  std::fprintf(stderr,
               "%s: %zu cases in %d emulated machine(s): %d passed, %d failed, %d skipped\n",
               name.c_str(), results.size(), machines, passed, ledger.failed(), skipped);
  for (const std::string& c : ledger.Retried()) {
    std::fprintf(stderr, "%s: %s ran again after the emulator fault hit its machine\n",
                 name.c_str(), c.c_str());
  }
  if (ledger.failed() > 0) return 1;
  // Every case passed; the program's own end decides (e.g. a failing
  // global tear-down), unless it was cut short by the emulator fault.
  return last.machine_failed || last.status == kEmulatorFaultStatus ? 0 : last.status;
}

std::vector<std::string> WithOnlyCases(const std::vector<std::string>& argv,
                                       const std::vector<CaseId>& cases) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0 && argv[i].rfind("--gtest_filter=", 0) == 0) continue;
    if (i > 0 && argv[i] == "--gtest_filter") {
      ++i;  // and its value
      continue;
    }
    out.push_back(argv[i]);
  }
  std::string filter = "--gtest_filter=";
  for (size_t i = 0; i < cases.size(); ++i) {
    filter += (i ? ":" : "") + cases[i].FullName();
  }
  out.push_back(filter);
  return out;
}

}  // namespace ssivm::hwkvm

#include "tools/hwkvm/vm_test.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "hypervisor/emulated/runtime.h"

extern char** environ;

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
    l.timeout = std::chrono::seconds(
        std::max<int64_t>(static_cast<int64_t>(t) - kTimeoutMargin.count(), t / 2));
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

  o.rw_dirs = layout.rw_dirs;

  o.timeout = layout.timeout;
  o.log_path = layout.log_path;
  // Tests never download: ./ssi test prepares the cache (hwkvm fetch).
  o.offline = true;
  const std::string name = fs::path(argv[0]).filename().string();
  std::fprintf(stderr, "%s: %s: running the test in the emulated hardware-KVM machine\n",
               name.c_str(), d.reason.c_str());
  return emulated::RunCommandInEmulatedMachine(name, argv, o);
}

}  // namespace ssivm::hwkvm

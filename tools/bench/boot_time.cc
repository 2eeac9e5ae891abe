// Boot-time benchmark (not a test): process start -> first guest instruction
// -> guest ready -> process exit for ssivm booting its guest, measured side by
// side with the null-VM floor in the same run. Prints JSON.
//
//   bazel run -c opt //tools/bench:boot_time -- [--runs N] [--vcpus N]
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cstdio>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>
#include "common/main_guard.h"
#include "hypervisor/emulated/agent.h"
#include "tools/bench/bench_runtime.h"

#include "tools/ssictl/locate.h"

namespace {

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Run {
  int64_t spawn_ns;
  int64_t exit_ns;
  int status;
  std::string out;  // stdout + stderr
};

Run Spawn(const std::vector<std::string>& args) {
  std::string path = "/tmp/ssivm-bench-XXXXXX";
  const int fd = ::mkstemp(path.data());
  ::unlink(path.c_str());
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Run r{};
  pid_t pid = -1;
  r.spawn_ns = MonotonicNs();
  if (::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "boot_time: cannot start %s\n", argv[0]);
    std::exit(1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_ns = MonotonicNs();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  posix_spawn_file_actions_destroy(&fa);
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return r;
}

std::optional<int64_t> Find(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return std::nullopt;
  return std::stoll(m[1]);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double Ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

}  // namespace

static int Main(int argc, char** argv) {
  ssivm::emulated::RunAgentIfAsked(argc, argv);
  int runs = 7;
  int vcpus = 2;
  int memory = 256;
  std::string kvm = "auto";
  CLI::App app{"ssivm boot-time benchmark (JSON on stdout)"};
  app.add_option("--runs", runs, "Runs of each side")->check(CLI::Range(1, 1000));
  app.add_option("--vcpus", vcpus, "Guest vCPUs")->check(CLI::Range(1, 64));
  app.add_option("--memory", memory, "Guest MiB")->check(CLI::Range(32, 65536));
  app.add_option("--kvm", kvm,
                 "host, emulated (all of it inside the emulated hardware-KVM machine) or auto")
      ->check(CLI::IsMember({"auto", "host", "emulated"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (auto status = ssivm::bench::RunInEmulatedMachineIfNeeded(kvm, argc, argv)) return *status;

  const std::string ssivm = ssivm::Locate("hypervisor/ssivm", "SSIVM_BIN");
  const std::string kernel = ssivm::Locate("guest/kernel", "SSIVM_KERNEL");
  const std::string null_vm = ssivm::Locate("tools/bench/null_vm", nullptr);

  std::vector<double> first, ready, vm_built, total, floor_first, floor_total;
  int failures = 0;
  // Interleave the two sides so host noise hits both alike.
  for (int i = 0; i < runs; ++i) {
    const Run f = Spawn({null_vm});
    const auto f_exit = Find(f.out, R"(first_exit_monotonic_ns (\d+))");
    if (f.status == 0 && f_exit) {
      floor_first.push_back(Ms(*f_exit - f.spawn_ns));
      floor_total.push_back(Ms(f.exit_ns - f.spawn_ns));
    } else {
      ++failures;
    }
    const Run s = Spawn({ssivm, "--kernel", kernel, "--vcpus", std::to_string(vcpus), "--memory",
                         std::to_string(memory), "--console", "none"});
    const auto entry = Find(s.out, R"(vcpu 0 entry \(monotonic_ns (\d+)\))");
    const auto rdy = Find(s.out, R"(vcpu 0 ready \(monotonic_ns (\d+)\))");
    const auto built = Find(s.out, R"(vm ready after [0-9.]+ ms \(monotonic_ns (\d+)\))");
    if (s.status == 0 && entry && rdy && built) {
      first.push_back(Ms(*entry - s.spawn_ns));
      ready.push_back(Ms(*rdy - s.spawn_ns));
      vm_built.push_back(Ms(*built - s.spawn_ns));
      total.push_back(Ms(s.exit_ns - s.spawn_ns));
    } else {
      ++failures;
      std::fprintf(stderr, "boot_time: run %d failed (status %d):\n%s\n", i, s.status,
                   s.out.c_str());
    }
  }
  const double floor_med = Median(floor_first);
  nlohmann::json j = {
      {"benchmark", "boot_time"},
      {"runtime", ssivm::bench::RuntimeJson()},
      {"runs", runs},
      {"failed_runs", failures},
      {"vcpus", vcpus},
      {"memory_mib", memory},
      {"ssivm_ms",
       {{"process_start_to_vm_built", Median(vm_built)},
        {"process_start_to_first_guest_instruction", Median(first)},
        {"process_start_to_guest_ready", Median(ready)},
        {"process_start_to_exit", Median(total)}}},
      {"floor_null_vm_ms",
       {{"process_start_to_first_guest_instruction", floor_med},
        {"process_start_to_exit", Median(floor_total)}}},
      {"ratio_first_instruction_vs_floor", floor_med > 0 ? Median(first) / floor_med : 0},
      {"ratio_guest_ready_vs_floor", floor_med > 0 ? Median(ready) / floor_med : 0},
      {"firecracker_goal_ms_to_guest_init", 125},
      {"note", "medians; floor = exec + KVM VM + 1 vCPU + first exit on this host, same run"},
  };
  std::printf("%s\n", j.dump(2).c_str());
  return failures == runs * 2 ? 1 : 0;
}

int main(int argc, char** argv) {
  return ssivm::GuardMain("boot_time", [&] { return Main(argc, argv); });
}

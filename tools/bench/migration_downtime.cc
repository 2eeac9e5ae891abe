// Live vCPU migration downtime beside its floor, measured in the same run.
//
// A 2-node guest (`ssictl up --nodes 2 --net loopback`) runs pingpong, so
// both vCPUs are busy and share a page across the nodes; vCPU 1 is pinned to
// node 0, node 1, node 0, ... (each pin moves it: `--moves` moves). Its
// downtime is node 0's report (pause on the source to resume on the target),
// with its phases: capture (pause to encoded state, source), transfer (to the
// last part's arrival) and restore (up to the resume, target).
// The floor is what a move cannot avoid: its state (as many bytes as the
// moves carried: the encoded VcpuState with the ssivm guest's 64 KiB slot)
// over loopback TCP plus one round trip for the answer, between two threads
// of this program. Prints JSON; never judges
// the numbers.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/command.h"
#include "common/error.h"
#include "common/main_guard.h"
#include "common/unique_fd.h"
#include "hypervisor/node/control_client.h"
#include "tools/bench/bench_runtime.h"
#include "tools/bench/summary.h"
#include "tools/ssictl/locate.h"
#include "tools/ssictl/run_state.h"

namespace {

using namespace ssivm;  // NOLINT(google-build-using-namespace)
using Clock = std::chrono::steady_clock;
using nlohmann::json;

void SendAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) ThrowErrno("floor: send");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void RecvAll(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) ThrowErrno("floor: receive");
    p += r;
    n -= static_cast<size_t>(r);
  }
}

// `rounds` times: `bytes` over loopback TCP, then a 1-byte answer back.
std::vector<double> Floor(size_t bytes, int rounds) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ThrowErrno("floor: listen on loopback");
  }
  std::thread server([&] {
    UniqueFd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::vector<uint8_t> buf(bytes);
    const uint8_t ack = 1;
    for (int i = 0; i < rounds && fd.valid(); ++i) {
      RecvAll(fd.get(), buf.data(), buf.size());
      SendAll(fd.get(), &ack, 1);
    }
  });
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ThrowErrno("floor: connect on loopback");
  }
  std::vector<uint8_t> state(bytes, 0x5a);
  std::vector<double> us;
  for (int i = 0; i < rounds; ++i) {
    const auto t = Clock::now();
    SendAll(fd.get(), state.data(), state.size());
    uint8_t ack = 0;
    RecvAll(fd.get(), &ack, 1);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  server.join();
  return us;
}

// Node 0's control socket once it answers (the cluster formed).
std::string WaitForNode0(const std::string& name, int ssictl_pid) {
  std::string control = ControlPath(name, 0);
  for (int i = 0; i < 1200; ++i) {
    if (WaitExitStatusFor(ssictl_pid, std::chrono::milliseconds(0))) {
      throw Error("ssictl up ended before the VM ran");
    }
    try {
      if (AskNodeIfRunning(control, {{"cmd", "status"}})) return control;
    } catch (const Error&) {
      // Not listening yet.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw Error("the VM did not start within 120 s");
}

// The benchmark's VM: `ssictl up` in the background, stopped (`ssictl
// down`) and reaped however the measurement ends.
class BenchVm {
 public:
  explicit BenchVm(std::string name)
      : ssictl_(Locate("tools/ssictl/ssictl", "SSICTL_BIN")), name_(std::move(name)) {
    pid_ = Spawn({ssictl_, "up", "--nodes", "2", "--vcpus-per-node", "1", "--memory-per-node", "64",
                  "--net", "loopback", "--name", name_, "--cmdline", "ssi.run=pingpong:4000000000"},
                 {.in = kDevNull, .out = kDevNull, .err = kDevNull, .die_with_parent = true});
  }
  ~BenchVm() {
    RunCommand({ssictl_, "down", name_});
    WaitExitStatusFor(pid_, std::chrono::seconds(60));
  }
  BenchVm(const BenchVm&) = delete;
  BenchVm& operator=(const BenchVm&) = delete;
  const std::string& name() const { return name_; }
  int pid() const { return pid_; }

 private:
  const std::string ssictl_;
  const std::string name_;
  int pid_ = -1;
};

json Measure(int moves) {
  std::vector<double> downtime;
  std::map<std::string, std::vector<double>> phases;  // the downtime's, by name
  std::vector<double> total;
  size_t bytes = 0;  // the state a move carried, as the target received it
  {
    const BenchVm vm(fmt::format("bench-migration-{}", ::getpid()));
    const std::string control = WaitForNode0(vm.name(), vm.pid());
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the guest boots and starts pingpong
    for (int i = 0; i < moves; ++i) {
      const uint32_t to = i % 2 == 0 ? 0 : 1;  // vCPU 1 starts on node 1
      const auto t = Clock::now();
      const json a = AskNode(control, {{"cmd", "pin"}, {"vcpu", 1}, {"node", to}});
      total.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
      if (a.value("moved", false)) {
        downtime.push_back(a.at("downtime_us").get<double>());
        for (const auto& [phase, us] : a.at("phases_us").items()) {
          phases[phase].push_back(us.get<double>());
        }
        bytes = std::max(bytes, a.at("state_bytes").get<size_t>());
      }
    }
  }
  if (bytes == 0) throw Error("no move happened");
  const json floor = bench::Summary(Floor(bytes, moves));
  const json down = bench::Summary(downtime);
  json phase_summaries = json::object();
  for (const auto& [phase, us] : phases) phase_summaries[phase] = bench::Summary(us);
  return {
      {"runtime", bench::RuntimeJson()},
      {"guest", "ssivm kernel, 2 nodes x 1 vCPU on loopback, pingpong between them"},
      {"moves", moves},
      {"state_bytes", bytes},
      {"downtime", down},
      {"downtime_phases", phase_summaries},
      {"request", bench::Summary(total)},
      {"floor_state_over_tcp_plus_rtt", floor},
      {"ratios",
       {{"downtime_median_vs_floor", bench::Median(down) / bench::Median(floor)},
        {"downtime_p99_vs_floor_median", down.at("p99_us").get<double>() / bench::Median(floor)},
        // The phase that carries the state, beside what carrying it costs.
        {"transfer_median_vs_floor",
         bench::Median(phase_summaries.at("transfer")) / bench::Median(floor)}}}};
}

int Main(int argc, char** argv) {
  CLI::App app{"Live vCPU migration downtime beside its floor (state over TCP + a round trip)"};
  int moves = 100;
  std::string kvm = "auto";
  app.add_option("--moves", moves, "How many moves of vCPU 1 between the two nodes")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  app.add_option("--kvm", kvm, "auto, host or emulated (where the VM and the floor run)")
      ->check(CLI::IsMember({"auto", "host", "emulated"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (const auto status = bench::RunInEmulatedMachineIfNeeded(kvm, argc, argv)) return *status;
  std::printf("%s\n", Measure(moves).dump(2).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return ssivm::GuardMain("migration_downtime", [&] { return Main(argc, argv); });
}

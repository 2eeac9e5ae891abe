// DSM benchmark (not a test): remote read-fault and write-upgrade latency
// and sequential page-transfer throughput between two nodes, side by side
// with same-run floors: a plain TCP 4 KiB request/response between the same
// two endpoints, and a local userfaultfd fault resolved in-process. Prints
// JSON, one section per network:
//
//   loopback  two nodes in this process, the real TCP transport on 127.0.0.1
//   netns     two processes (this program re-executed with --role), each in
//             its own network namespace joined by veth to a bridge; the TCP
//             floor runs between the same two namespaces
//
// For each network the same faults are also measured from guest vCPUs: a
// 2-node cluster (`ssictl up --nodes 2 --net NET`) runs the guest's dsmlat
// workload, which times its own faults with the TSC.
//
//   bazel run -c opt //tools/bench:dsm_latency -- [--pages N] [--net both|loopback|netns]
//       [--guest-pages N | --no-guest]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cluster/transport/loopback_mesh.h"
#include "cluster/transport/tcp_transport.h"
#include "common/command.h"
#include "common/error.h"
#include "common/main_guard.h"
#include "common/mapping.h"
#include "common/unique_fd.h"
#include "dsm/fault/fault_engine.h"
#include "dsm/fault/userfaultfd.h"
#include "guest/abi/page.h"
#include "hypervisor/emulated/agent.h"
#include "tools/bench/bench_runtime.h"
#include "tools/bench/guest_result.h"
#include "tools/bench/summary.h"
#include "tools/ssictl/locate.h"
#include "tools/ssictl/netns.h"

namespace {

using namespace ssivm;
using namespace ssivm::dsm;
using namespace ssivm::cluster;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using ssivm::bench::Median;
using ssivm::bench::Summary;
constexpr uint64_t kGpa = 64ull << 20;
constexpr uint16_t kFloorPort = 7500;
constexpr uint16_t kDsmPort = 7400;

double Us(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// ---- Floors ------------------------------------------------------------------

// TCP floor, server side: answers `rounds` 8-byte requests with 4 KiB, then
// one more with `rounds` pages in a row (the bulk floor).
void FloorServe(const TcpListener& l, int rounds) {
  pollfd pfd{l.fd(), POLLIN, 0};  // the listener does not block
  if (::poll(&pfd, 1, -1) != 1) ThrowErrno("poll (TCP floor)");
  UniqueFd fd(::accept4(l.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd.valid()) ThrowErrno("accept (TCP floor)");
  SetNoDelay(fd.get());
  char req[8], page[4096] = {};
  for (int i = 0; i < rounds; ++i) {
    if (::recv(fd.get(), req, 8, MSG_WAITALL) != 8) return;
    (void)!::send(fd.get(), page, sizeof(page), MSG_NOSIGNAL);
  }
  if (::recv(fd.get(), req, 8, MSG_WAITALL) != 8) return;
  for (int i = 0; i < rounds; ++i) {
    if (::send(fd.get(), page, sizeof(page), MSG_NOSIGNAL) != sizeof(page)) return;
  }
}

struct TcpFloor {
  std::vector<double> rtt_us;   // 4 KiB request/response round trips
  double bulk_pages_per_s = 0;  // 4 KiB pages streamed in a row
};

void to_json(json& j, const TcpFloor& f) {
  j = json{{"rtt_us", f.rtt_us}, {"bulk_pages_per_s", f.bulk_pages_per_s}};
}
void from_json(const json& j, TcpFloor& f) {
  j.at("rtt_us").get_to(f.rtt_us);
  j.at("bulk_pages_per_s").get_to(f.bulk_pages_per_s);
}

// TCP floor, client side: the request/response round trips, then the bulk
// stream (retries the connect for a while: the server may still be
// starting).
TcpFloor FloorMeasure(const std::string& host, uint16_t port, int rounds) {
  const sockaddr_in a = ToSockaddr(host, port);
  UniqueFd fd;
  for (int attempt = 0;; ++attempt) {
    fd.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) break;
    if (attempt == 400)
      ThrowErrno(fmt::format("connect to the TCP floor server {}:{}", host, port));
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  SetNoDelay(fd.get());
  TcpFloor out;
  char req[8] = {}, page[4096];
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    if (::send(fd.get(), req, 8, MSG_NOSIGNAL) != 8 ||
        ::recv(fd.get(), page, sizeof(page), MSG_WAITALL) != sizeof(page)) {
      ThrowErrno(fmt::format("TCP floor round {} with {}:{}", i, host, port));
    }
    out.rtt_us.push_back(Us(Clock::now() - t0));
  }
  const auto t0 = Clock::now();
  if (::send(fd.get(), req, 8, MSG_NOSIGNAL) != 8) ThrowErrno("TCP bulk floor request");
  for (int i = 0; i < rounds; ++i) {
    if (::recv(fd.get(), page, sizeof(page), MSG_WAITALL) != sizeof(page)) {
      ThrowErrno(fmt::format("TCP bulk floor page {} from {}:{}", i, host, port));
    }
  }
  out.bulk_pages_per_s = rounds / std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

// A missing-page fault on local memory, resolved by a handler thread of this
// process with UFFDIO_COPY.
std::vector<double> LocalFaultFloor(int pages) {
  Mapping m = Mapping::Anonymous(pages * abi::kPageSize, "floor RAM");
  Userfaultfd uffd(m.data(), m.size());
  std::atomic<bool> done{false};
  std::thread handler([&] {
    alignas(4096) static uint8_t src[4096] = {1};
    while (!done) {
      pollfd p{uffd.fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      while (auto f = uffd.ReadFault()) uffd.Install(f->address, src, true);
    }
  });
  std::vector<double> out;
  for (int i = 0; i < pages; ++i) {
    const auto t0 = Clock::now();
    (void)*reinterpret_cast<volatile uint8_t*>(m.data() + i * abi::kPageSize);
    out.push_back(Us(Clock::now() - t0));
  }
  done = true;
  handler.join();
  return out;
}

// ---- DSM between host threads ------------------------------------------------

// One node's DSM over `size` bytes: node 0 is home of everything (it
// contributes all the memory). `on_lost` runs when the engine stops on a
// fatal error (the peer left, at the end).
struct DsmNode {
  Mapping ram;
  std::unique_ptr<TcpTransport> transport;
  std::unique_ptr<FaultEngine> engine;

  void Start(NodeId self, std::function<void(const std::string&)> on_fatal) {
    engine = std::make_unique<FaultEngine>(
        self, SharedRegion{kGpa, ram.size(), ram.data()}, [](PageNumber) { return NodeId{0}; },
        *transport, std::move(on_fatal));
    transport->Start();
    engine->Start();
  }
  void Stop() {
    if (engine) engine->Stop();
    if (transport) transport->Stop();
  }
};

// A node's RAM for `pages` measured pages. The DSM pages it in 4 KiB units:
// with transparent huge pages on (the emulated machine's kernel: always),
// node 0's writes before its engine starts would fault in 2 MiB pages that
// reach into node 1's RAM (the kernel merges adjacent anonymous mappings),
// which node 1's engine then finds resident though node 0 is their home.
Mapping NodeRam(int pages) {
  Mapping m = Mapping::Anonymous(uint64_t(3 * pages) * abi::kPageSize, "bench RAM");
  if (::madvise(m.data(), m.size(), MADV_NOHUGEPAGE) != 0) ThrowErrno("madvise bench RAM");
  return m;
}

// Node 0's part before its engine starts: it writes every page (so they are
// its own, resident, exclusive).
void WriteHomePages(DsmNode& n, int pages) {
  for (int i = 0; i < 3 * pages; ++i)
    *reinterpret_cast<volatile uint64_t*>(n.ram.data() + i * abi::kPageSize) = i;
}

// Node 1's part: reads every page once (remote read faults), writes them
// (write upgrades, invalidating node 0's copy), then reads pages it never saw
// in a row (sequential transfer), without and with prefetch in turn.
json MeasureFromNode1(DsmNode& n, int pages) {
  std::vector<double> read_fault, upgrade;
  n.engine->LimitPrefetch(0);  // each fault on its own: the pages are read in a row
  for (int i = 0; i < pages; ++i) {
    auto* p = reinterpret_cast<volatile uint64_t*>(n.ram.data() + i * abi::kPageSize);
    const auto t0 = Clock::now();
    const uint64_t v = *p;
    read_fault.push_back(Us(Clock::now() - t0));
    if (v != uint64_t(i)) throw Error(fmt::format("page {} read {} instead of {}", i, v, i));
  }
  for (int i = 0; i < pages; ++i) {
    auto* p = reinterpret_cast<volatile uint64_t*>(n.ram.data() + i * abi::kPageSize);
    const auto t0 = Clock::now();
    *p = i + 1;
    upgrade.push_back(Us(Clock::now() - t0));
  }
  // The pages it never saw, in a row, in quarters alternating prefetch off
  // and on (off, on, off, on), so that neither gets the other's warm-up.
  uint64_t sum = 0;
  const int quarter = pages / 2;
  double secs[2] = {0, 0};  // off, on
  for (int k = 0; k < 4; ++k) {
    n.engine->LimitPrefetch(k % 2 == 0 ? 0 : Prefetch::Config{}.max_window);
    const auto t0 = Clock::now();
    for (int i = pages + k * quarter; i < pages + (k + 1) * quarter; ++i)
      sum += *reinterpret_cast<volatile uint64_t*>(n.ram.data() + i * abi::kPageSize);
    secs[k % 2] += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  const auto rate = [&](double s) {
    return json{{"pages", 2 * quarter},
                {"pages_per_s", 2 * quarter / s},
                {"mb_per_s", 2.0 * quarter * abi::kPageSize / s / 1e6}};
  };
  json no_prefetch = rate(secs[0]);
  json with_prefetch = rate(secs[1]);
  with_prefetch["checksum"] = sum;
  with_prefetch["vs_no_prefetch"] =
      with_prefetch["pages_per_s"].get<double>() / no_prefetch["pages_per_s"].get<double>();
  const DsmStats st = n.engine->stats();
  return {{"remote_read_fault", Summary(read_fault)},
          {"write_upgrade", Summary(upgrade)},
          {"sequential_transfer", with_prefetch},
          {"sequential_transfer_no_prefetch", no_prefetch},
          {"node1_stats",
           {{"read_faults", st.read_faults},
            {"write_faults", st.write_faults},
            {"pages_received", st.pages_received},
            {"prefetched", st.prefetched}}}};
}

// A DSM node's fatal handler: dies, unless the measurement is over and the
// peers are closing. The flag stays set for as long as any node may report
// (their engines hold the handler), also while they are destroyed.
std::function<void(const std::string&)> DieUnlessFinishing(
    const std::shared_ptr<std::atomic<bool>>& finishing) {
  return [finishing](const std::string& why) {
    if (*finishing) return;
    std::fprintf(stderr, "dsm_latency: %s\n", why.c_str());
    std::_Exit(1);
  };
}

json HostThreadsLoopback(int pages, TransportSecurity security) {
  auto transports = ConnectLoopbackMesh(2, security);
  DsmNode n[2];
  for (NodeId i = 0; i < 2; ++i) {
    n[i].ram = NodeRam(pages);
    n[i].transport = std::move(transports[i]);
  }
  WriteHomePages(n[0], pages);
  const auto finishing = std::make_shared<std::atomic<bool>>(false);
  json out;
  try {
    for (NodeId i = 0; i < 2; ++i) n[i].Start(i, DieUnlessFinishing(finishing));
    out = MeasureFromNode1(n[1], pages);
  } catch (...) {
    *finishing = true;  // the nodes close as this unwinds: the error is the news
    throw;
  }
  *finishing = true;
  for (auto& node : n) node.Stop();
  return out;
}

// ---- Roles: this program re-executed inside a network namespace --------------

struct RoleArgs {
  std::string role;
  std::string self_host, peer_host;
  int pages = 0;
  std::string security = "encrypted";
};

// One DSM node of the netns measurement. Node 1 prints its measurements as
// JSON on stdout; node 0 serves until node 1 leaves.
int RunDsmRole(const RoleArgs& a) {
  const NodeId self = a.role == "dsm-node0" ? 0 : 1;
  const std::string host0 = self == 0 ? a.self_host : a.peer_host;
  const std::string host1 = self == 1 ? a.self_host : a.peer_host;
  TransportConfig cfg;
  cfg.cluster_id = 0xbe7c;
  cfg.epoch = 1;
  cfg.self = self;
  cfg.nodes = {{0, host0, kDsmPort}, {1, host1, kDsmPort}};
  cfg.connect_timeout = std::chrono::seconds(60);
  cfg.security = *SecurityFromName(a.security);
  cfg.secret.fill(0x6b);
  DsmNode n;
  n.ram = NodeRam(a.pages);
  n.transport = TcpTransport::Connect(cfg, TcpListener::Listen(a.self_host, kDsmPort));
  if (self == 1) {
    const auto finishing = std::make_shared<std::atomic<bool>>(false);
    n.Start(1, DieUnlessFinishing(finishing));
    const json out = MeasureFromNode1(n, a.pages);
    *finishing = true;
    n.Stop();
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  WriteHomePages(n, a.pages);
  std::mutex mu;
  std::condition_variable cv;
  bool gone = false;
  n.Start(0, [&](const std::string&) {
    std::lock_guard<std::mutex> l(mu);
    gone = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return gone; });  // node 1 finished (or died: it reports that)
  l.unlock();
  n.Stop();
  return 0;
}

int RunRole(const RoleArgs& a) {
  try {
    if (a.role == "floor-server") {
      FloorServe(TcpListener::Listen(a.self_host, kFloorPort), a.pages);
      return 0;
    }
    if (a.role == "floor-client") {
      std::printf("%s\n", json(FloorMeasure(a.peer_host, kFloorPort, a.pages)).dump().c_str());
      return 0;
    }
    return RunDsmRole(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsm_latency %s in %s: %s\n", a.role.c_str(), a.self_host.c_str(),
                 e.what());
    return 1;
  }
}

// ---- The parent: children, signals, namespaces -------------------------------

std::vector<pid_t> g_children;
volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  g_signal = sig;
  for (pid_t p : g_children) ::kill(p, SIGTERM);
}

// A child whose stdout (and stderr if `with_stderr`) goes to an unlinked
// temporary file.
// A child not waited for (an error elsewhere) is killed with the object.
struct Child {
  pid_t pid;
  UniqueFd out;
  std::string what;
  bool waited = false;
  ~Child() {
    if (waited) return;
    ::kill(pid, SIGKILL);
    WaitExitStatus(pid);
    std::erase(g_children, pid);
  }
};

Child StartChild(const std::vector<std::string>& argv, const std::string& what,
                 bool with_stderr = false) {
  std::string path = "/tmp/ssivm-dsm-bench-XXXXXX";
  UniqueFd fd(::mkstemp(path.data()));
  if (!fd.valid()) ThrowErrno("temporary file for " + what);
  ::unlink(path.c_str());
  const pid_t pid = Spawn(argv, {kDevNull, fd.get(), with_stderr ? fd.get() : kInherit});
  g_children.push_back(pid);
  return {pid, std::move(fd), what};
}

// Waits for the child; returns its stdout, or throws naming it.
std::string Finish(Child& c) {
  const int status = WaitExitStatus(c.pid);
  c.waited = true;
  std::erase(g_children, c.pid);
  std::string out;
  ::lseek(c.out.get(), 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = ::read(c.out.get(), buf, sizeof(buf))) > 0;)
    out.append(buf, static_cast<size_t>(n));
  if (g_signal != 0) throw Error(fmt::format("interrupted by signal {}", int(g_signal)));
  if (status != 0) throw Error(fmt::format("{} failed (exit {}): {}", c.what, status, out));
  return out;
}

std::string SelfExe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) ThrowErrno("readlink /proc/self/exe");
  return {buf, static_cast<size_t>(n)};
}

// One role in namespace k of `hosts`.
Child StartRole(const NetnsHosts& hosts, uint32_t k, const std::string& role, int count,
                TransportSecurity security = TransportSecurity::kNone) {
  std::vector<std::string> argv = hosts.Exec(k);
  argv.insert(argv.end(), {SelfExe(), "--role", role, "--self", hosts.address(k), "--peer",
                           hosts.address(1 - k), "--pages", std::to_string(count), "--security",
                           SecurityName(security)});
  return StartChild(argv, fmt::format("{} in {}", role, hosts.ns(k)));
}

// NOLINTNEXTLINE(bugprone-exception-escape): json's moves do not throw; clang 14 sees them as if
struct NetMeasurement {
  TcpFloor tcp_floor;
  json host_threads;
  json security_cost;  // loopback: host threads in every transport security
};

// The same host-thread measurement in each transport security, and each
// one's medians over those without security (same run).
json SecurityCost(int pages) {
  json by;
  for (const auto s : {TransportSecurity::kNone, TransportSecurity::kAuthenticated,
                       TransportSecurity::kEncrypted}) {
    by[SecurityName(s)] = HostThreadsLoopback(pages, s);
  }
  const json& none = by["none"];
  json ratios;
  for (const char* s : {"authenticated", "encrypted"}) {
    const json& m = by[s];
    ratios[s] = json{
        {"remote_read_fault", Median(m["remote_read_fault"]) / Median(none["remote_read_fault"])},
        {"write_upgrade", Median(m["write_upgrade"]) / Median(none["write_upgrade"])},
        {"sequential_transfer_throughput",
         m["sequential_transfer"]["pages_per_s"].get<double>() /
             none["sequential_transfer"]["pages_per_s"].get<double>()}};
  }
  return {{"host_threads", by}, {"ratios_vs_none", ratios}};
}

NetMeasurement MeasureLoopback(int pages, TransportSecurity security) {
  NetMeasurement m;
  TcpListener l = TcpListener::Listen("127.0.0.1", 0);
  std::thread server([&] { FloorServe(l, pages); });
  m.tcp_floor = FloorMeasure("127.0.0.1", l.port(), pages);
  server.join();
  m.host_threads = HostThreadsLoopback(pages, security);
  m.security_cost = SecurityCost(pages);
  return m;
}

// Node 0 (server, home) in namespace 0, node 1 (client, measuring) in
// namespace 1. The namespaces go away with `hosts`, also on errors.
NetMeasurement MeasureNetns(int pages, TransportSecurity security) {
  const NetnsHosts hosts(2, fmt::format("bd{:05x}", ::getpid() & 0xfffff),
                         static_cast<uint8_t>(20 + (::getpid() + 101) % 200));
  NetMeasurement m;
  Child server = StartRole(hosts, 0, "floor-server", pages);
  Child client = StartRole(hosts, 1, "floor-client", pages);
  m.tcp_floor = json::parse(Finish(client)).get<TcpFloor>();
  Finish(server);
  Child node0 = StartRole(hosts, 0, "dsm-node0", pages, security);
  Child node1 = StartRole(hosts, 1, "dsm-node1", pages, security);
  m.host_threads = json::parse(Finish(node1));
  Finish(node0);
  return m;
}

// The guest's own measurement: dsmlat on a 2-node cluster over `net`.
json GuestMeasurement(const std::string& net, int pages) {
  const std::string ssictl = Locate("tools/ssictl/ssictl", "SSICTL_BIN");
  Child c = StartChild({ssictl, "up", "--nodes", "2", "--vcpus-per-node", "1", "--memory-per-node",
                        "64", "--net", net, "--cmdline", fmt::format("ssi.run=dsmlat:{}", pages)},
                       "ssictl up (guest dsmlat over " + net + ")", true);
  const std::string out = Finish(c);
  auto result = PassingResult(out, "dsmlat");
  if (!result) throw Error("the guest did not report a passing dsmlat result:\n" + out);
  std::map<std::string, uint64_t>& v = *result;
  auto us = [&](const std::string& k) { return static_cast<double>(v[k]) / 1000.0; };
  // Each node's exit report: which kind of fault userfaultfd saw.
  json nodes;
  const std::regex stats(R"(ssivm\[node (\d+)\]: dsm: (\d+) read faults, (\d+) write faults)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), stats); it != std::sregex_iterator();
       ++it) {
    nodes["node" + (*it)[1].str()] = {{"uffd_read_faults", std::stoull((*it)[2])},
                                      {"uffd_write_faults", std::stoull((*it)[3])}};
  }
  return {
      {"pages", v["pages"]},
      {"tsc_hz", v["tsc_hz"]},
      {"reader_node", v["reader_node"]},
      {"home_node", v["home_node"]},
      {"floor_local_fault",
       {{"median_us", us("local_fault_median_ns")}, {"p99_us", us("local_fault_p99_ns")}}},
      {"remote_read_fault",
       {{"median_us", us("read_fault_median_ns")}, {"p99_us", us("read_fault_p99_ns")}}},
      {"write_upgrade", {{"median_us", us("upgrade_median_ns")}, {"p99_us", us("upgrade_p99_ns")}}},
      {"uffd_faults_on_reader_node",
       {{"local_phase_faults", v["local_phase_uffd_faults"]},
        {"read_phase_read_faults", v["read_phase_uffd_read_faults"]},
        {"read_phase_write_faults", v["read_phase_uffd_write_faults"]},
        {"upgrade_phase_write_faults", v["upgrade_phase_uffd_write_faults"]}}},
      {"node_dsm_stats", nodes}};
}

json NetSection(const std::string& net, int pages, int guest_pages, const json& local_fault,
                TransportSecurity security) {
  const NetMeasurement m =
      net == "netns" ? MeasureNetns(pages, security) : MeasureLoopback(pages, security);
  const json tcp = Summary(m.tcp_floor.rtt_us);
  const double floor = Median(tcp) + Median(local_fault);
  json s = {
      {"floors",
       {{"tcp_4k_request_response", tcp},
        {"tcp_bulk_4k_pages_per_s", m.tcp_floor.bulk_pages_per_s},
        {"local_uffd_fault", local_fault}}},
      {"host_threads", m.host_threads},
  };
  if (!m.security_cost.is_null()) s["security_cost"] = m.security_cost;
  json ratios = {
      {"host_remote_read_vs_rtt_plus_local_fault",
       Median(m.host_threads["remote_read_fault"]) / floor},
      {"host_upgrade_vs_rtt_plus_local_fault", Median(m.host_threads["write_upgrade"]) / floor},
      {"host_sequential_vs_bulk_tcp",
       m.host_threads["sequential_transfer"]["pages_per_s"].get<double>() /
           m.tcp_floor.bulk_pages_per_s},
  };
  if (guest_pages > 0) {
    const json g = GuestMeasurement(net, guest_pages);
    s["guest_vcpu"] = g;
    // Against the guest's own local fault (a vCPU's fault resolved by its
    // node's handler, no network), measured in the same guest run; the TCP
    // floor is this section's (same kind of link, other endpoints).
    const double guest_floor = Median(tcp) + Median(g["floor_local_fault"]);
    ratios["guest_remote_read_vs_rtt_plus_guest_local_fault"] =
        Median(g["remote_read_fault"]) / guest_floor;
    ratios["guest_upgrade_vs_rtt_plus_guest_local_fault"] =
        Median(g["write_upgrade"]) / guest_floor;
  }
  s["ratios"] = ratios;
  return s;
}

}  // namespace

static int Main(int argc, char** argv) {
  ssivm::emulated::RunAgentIfAsked(argc, argv);
  int pages = 2000;
  int guest_pages = 500;
  bool no_guest = false;
  std::string net = "both";
  RoleArgs role;
  CLI::App app{"DSM latency and throughput benchmark (JSON on stdout)"};
  app.add_option("--pages", pages, "Pages per host-thread measurement")
      ->check(CLI::Range(10, 100000));
  app.add_option("--net", net, "Network between the nodes")
      ->check(CLI::IsMember({"both", "loopback", "netns"}));
  app.add_option("--guest-pages", guest_pages, "Pages the guest's dsmlat workload touches")
      ->check(CLI::Range(10, 20000));
  app.add_flag("--no-guest", no_guest, "Skip the measurement from guest vCPUs");
  app.add_option("--security", role.security,
                 "Transport security of the host-thread nodes (the loopback section also "
                 "measures every one, in security_cost)")
      ->check(CLI::IsMember({"none", "authenticated", "encrypted"}))
      ->capture_default_str();
  std::string kvm = "auto";
  app.add_option("--kvm", kvm,
                 "host, emulated (all of it, floors too, inside the emulated hardware-KVM "
                 "machine) or auto")
      ->check(CLI::IsMember({"auto", "host", "emulated"}))
      ->capture_default_str();
  // Internal: this program re-executed as one side inside a namespace.
  app.add_option("--role", role.role)
      ->check(CLI::IsMember({"floor-server", "floor-client", "dsm-node0", "dsm-node1"}))
      ->group("");
  app.add_option("--self", role.self_host)->group("");
  app.add_option("--peer", role.peer_host)->group("");
  CLI11_PARSE(app, argc, argv);
  if (!role.role.empty()) {
    role.pages = pages;
    return RunRole(role);
  }
  if (!no_guest) {
    if (auto status = ssivm::bench::RunInEmulatedMachineIfNeeded(kvm, argc, argv)) return *status;
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  try {
    const json local_fault = Summary(LocalFaultFloor(pages));
    json nets;
    for (const std::string n : {"loopback", "netns"}) {
      if (net == "both" || net == n) {
        nets[n] = NetSection(n, pages, no_guest ? 0 : guest_pages, local_fault,
                             *SecurityFromName(role.security));
      }
    }
    const json j = {
        {"benchmark", "dsm_latency"},
        {"runtime", ssivm::bench::RuntimeJson()},
        {"pages", pages},
        {"transport_security", role.security},
        {"guest_pages", no_guest ? 0 : guest_pages},
        {"note",
         "medians and p99 in microseconds; floors measured in this run; host ratios are medians "
         "over (TCP 4 KiB RTT between the same endpoints + local uffd fault), guest ratios over "
         "(that RTT + the guest's own local fault, same guest run). host_threads: "
         "plain host threads fault on two DSM nodes (loopback: one process; netns: one process "
         "per namespace). guest_vcpu: the guest's dsmlat workload timing its own faults with "
         "the TSC on a 2-node ssictl cluster; its floor_local_fault is a vCPU's first touch of a "
         "page homed on its own node (zero-filled by the local handler). If "
         "uffd_faults_on_reader_node shows the read phase as write faults (KVM's async page "
         "faults were on: they fault pages in for writing), the reads took the pages exclusive "
         "and write_upgrade measures writes that need no fault."},
        {"nets", nets},
    };
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsm_latency: %s\n", e.what());
    return g_signal != 0 ? 128 + g_signal : 1;
  }
}

int main(int argc, char** argv) {
  return ssivm::GuardMain("dsm_latency", [&] { return Main(argc, argv); });
}

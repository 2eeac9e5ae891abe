// DSM benchmark (not a test): remote read-fault and write-upgrade latency
// and sequential page-transfer throughput between two nodes, side by side
// with the same-run floors: a plain TCP 4 KiB request/response, and a local
// userfaultfd fault resolved in-process. Two nodes in this process, joined
// by the real TCP transport on loopback. Prints JSON.
//
//   bazel run -c opt //tools/bench:dsm_latency -- [--pages N]
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/mapping.h"
#include "dsm/fault/fault_engine.h"
#include "dsm/fault/userfaultfd.h"
#include "dsm/transport/loopback_mesh.h"
#include "dsm/transport/tcp_transport.h"

namespace {

using namespace ssivm;
using namespace ssivm::dsm;
using Clock = std::chrono::steady_clock;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kGpa = 64ull << 20;

double Us(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

nlohmann::json Summary(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) {
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, size_t(p * v.size()))];
  };
  return {{"median_us", pct(0.5)}, {"p99_us", pct(0.99)}, {"samples", v.size()}};
}

// Floor 1: TCP 4 KiB request/response on loopback (8-byte request, 4 KiB answer).
std::vector<double> TcpFloor(int rounds) {
  TcpListener l = TcpListener::Listen("127.0.0.1", 0);
  const uint16_t port = l.port();
  std::thread server([&] {
    const int fd = ::accept(l.fd(), nullptr, nullptr);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char req[8], page[4096] = {};
    for (int i = 0; i < rounds; ++i) {
      if (::recv(fd, req, 8, MSG_WAITALL) != 8) break;
      ::send(fd, page, sizeof(page), 0);
    }
    ::close(fd);
  });
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<double> out;
  char req[8] = {}, page[4096];
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    ::send(fd, req, 8, 0);
    ::recv(fd, page, sizeof(page), MSG_WAITALL);
    out.push_back(Us(Clock::now() - t0));
  }
  ::close(fd);
  server.join();
  return out;
}

// Floor 2: a missing-page fault on local memory, resolved by a handler thread
// of this process with UFFDIO_COPY.
std::vector<double> LocalFaultFloor(int pages) {
  Mapping m = Mapping::Anonymous(pages * kPage, "floor RAM");
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
    (void)*reinterpret_cast<volatile uint8_t*>(m.data() + i * kPage);
    out.push_back(Us(Clock::now() - t0));
  }
  done = true;
  handler.join();
  return out;
}

std::atomic<bool> g_finishing{false};

struct Pair {
  Mapping ram[2];
  std::unique_ptr<TcpTransport> transport[2];
  std::unique_ptr<FaultEngine> engine[2];
};

// Node 0 is home of everything (it contributes all the memory).
std::unique_ptr<Pair> MakePair(uint64_t size) {
  auto p = std::make_unique<Pair>();
  auto transports = ConnectLoopbackMesh(2);
  for (NodeId i = 0; i < 2; ++i) {
    p->ram[i] = Mapping::Anonymous(size, "bench RAM");
    p->transport[i] = std::move(transports[i]);
  }
  for (NodeId i = 0; i < 2; ++i) {
    p->engine[i] = std::make_unique<FaultEngine>(
        i, SharedRegion{kGpa, size, p->ram[i].data()}, [](PageNumber) { return NodeId{0}; },
        *p->transport[i],
        [](const std::string& why) {
          if (g_finishing) return;  // peers closing at the end
          std::fprintf(stderr, "dsm_latency: %s\n", why.c_str());
          std::_Exit(1);
        });
    p->transport[i]->Start(p->engine[i].get());
    p->engine[i]->Start();
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  int pages = 2000;
  CLI::App app{"DSM latency and throughput benchmark (JSON on stdout)"};
  app.add_option("--pages", pages, "Pages per measurement")->check(CLI::Range(10, 100000));
  CLI11_PARSE(app, argc, argv);

  const auto tcp = TcpFloor(pages);
  const auto local = LocalFaultFloor(pages);

  // Node 0 writes every page (it owns them), node 1 then reads: remote read
  // faults. Then node 1 writes them: write upgrades (invalidating node 0).
  auto pair = MakePair(uint64_t(3 * pages) * kPage);
  for (int i = 0; i < 3 * pages; ++i)
    *reinterpret_cast<volatile uint64_t*>(pair->ram[0].data() + i * kPage) = i;
  std::vector<double> read_fault, upgrade;
  for (int i = 0; i < pages; ++i) {
    auto* p = reinterpret_cast<volatile uint64_t*>(pair->ram[1].data() + i * kPage);
    const auto t0 = Clock::now();
    const uint64_t v = *p;
    read_fault.push_back(Us(Clock::now() - t0));
    if (v != uint64_t(i)) {
      std::fprintf(stderr, "dsm_latency: page %d read %lu\n", i, v);
      return 1;
    }
  }
  for (int i = 0; i < pages; ++i) {
    auto* p = reinterpret_cast<volatile uint64_t*>(pair->ram[1].data() + i * kPage);
    const auto t0 = Clock::now();
    *p = i + 1;
    upgrade.push_back(Us(Clock::now() - t0));
  }
  // Sequential transfer: node 1 reads pages it never saw, one fault each.
  const auto t0 = Clock::now();
  uint64_t sum = 0;
  for (int i = pages; i < 3 * pages; ++i)
    sum += *reinterpret_cast<volatile uint64_t*>(pair->ram[1].data() + i * kPage);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const DsmStats st = pair->engine[1]->stats();

  const double floor_rtt = Summary(tcp)["median_us"];
  const double floor_fault = Summary(local)["median_us"];
  const double read_med = Summary(read_fault)["median_us"];
  const double up_med = Summary(upgrade)["median_us"];
  nlohmann::json j = {
      {"benchmark", "dsm_latency"},
      {"transport", "tcp loopback, two nodes in one process"},
      {"floor_tcp_4k_request_response", Summary(tcp)},
      {"floor_local_uffd_fault", Summary(local)},
      {"remote_read_fault", Summary(read_fault)},
      {"write_upgrade", Summary(upgrade)},
      {"sequential_transfer",
       {{"pages", 2 * pages},
        {"pages_per_s", 2 * pages / secs},
        {"mb_per_s", 2.0 * pages * kPage / secs / 1e6},
        {"checksum", sum}}},
      {"ratio_remote_read_vs_rtt_plus_local_fault", read_med / (floor_rtt + floor_fault)},
      {"ratio_upgrade_vs_rtt_plus_local_fault", up_med / (floor_rtt + floor_fault)},
      {"node1_stats",
       {{"read_faults", st.read_faults},
        {"write_faults", st.write_faults},
        {"pages_received", st.pages_received}}},
  };
  std::printf("%s\n", j.dump(2).c_str());
  g_finishing = true;
  for (NodeId i = 0; i < 2; ++i) pair->engine[i]->Stop();
  for (NodeId i = 0; i < 2; ++i) pair->transport[i]->Stop();
  return 0;
}

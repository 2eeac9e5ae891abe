// Two nodes in one process, each with its own view (mapping) of the same
// shared guest range, joined by the real TCP transport on loopback. Host
// threads touch the memory; userfaultfd faults move pages over the socket.
#include "dsm/fault/fault_engine.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "cluster/transport/loopback_mesh.h"
#include "common/mapping.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kGpa = 64ull << 20;
constexpr uint64_t kSize = 4ull << 20;

NodeId HomeOf(PageNumber p) {
  return static_cast<NodeId>(p % 2);
}

struct Node {
  Mapping ram;
  std::unique_ptr<cluster::TcpTransport> transport;
  std::unique_ptr<FaultEngine> engine;
  std::string fatal;
  template <class T>
  T* At(uint64_t offset) {
    return reinterpret_cast<T*>(ram.data() + offset);
  }
};

class TwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto transports = cluster::ConnectLoopbackMesh(2, cluster::TransportSecurity::kEncrypted, 7);
    for (NodeId i = 0; i < 2; ++i) {
      nodes_[i].ram = Mapping::Anonymous(kSize, "node RAM");
      nodes_[i].transport = std::move(transports[i]);
    }
    // Node 0 "loads" a page it is home of before the DSM starts.
    *nodes_[0].At<uint64_t>(10 * abi::kPageSize) = 0x10ad;
    for (NodeId i = 0; i < 2; ++i) {
      Node& n = nodes_[i];
      n.engine = std::make_unique<FaultEngine>(i, SharedRegion{kGpa, kSize, n.ram.data()}, HomeOf,
                                               *n.transport,
                                               [&n](const std::string& why) { n.fatal = why; });
      n.transport->Start();
      n.engine->Start();
    }
  }
  void TearDown() override {
    for (Node& n : nodes_) EXPECT_EQ(n.fatal, "");
    for (Node& n : nodes_) {
      n.engine->Stop();
      n.transport->Stop();
    }
  }
  Node nodes_[2];
};

TEST_F(TwoNodes, UntouchedPagesReadAsZeroEverywhere) {
  EXPECT_EQ(*nodes_[1].At<uint64_t>(3 * abi::kPageSize + 8), 0u);  // homed at node 1
  EXPECT_EQ(*nodes_[1].At<uint64_t>(4 * abi::kPageSize), 0u);      // homed at node 0
  EXPECT_GE(nodes_[1].engine->stats().read_faults, 2u);
  EXPECT_EQ(nodes_[1].engine->stats().pages_received, 0u);  // zero pages move no data
}

// The page crosses as a buffer handle: on the node that faulted, the data is
// copied once from the socket into its buffer (and decrypted there in place)
// and once into guest memory; on its home, once out of guest memory into a
// buffer, and once more encrypting it into the buffer the socket sends from
// (the transport's: without encryption there is no second pass, see
// tcp_transport_test).
TEST_F(TwoNodes, ARemoteReadFaultCopiesThePageTwiceOnEachSide) {
  const PagePool::Stats home_before = nodes_[0].transport->pages().stats();
  const PagePool::Stats reader_before = nodes_[1].transport->pages().stats();
  EXPECT_EQ(*nodes_[1].At<uint64_t>(10 * abi::kPageSize), 0x10adu);  // node 0 loaded it
  EXPECT_EQ(nodes_[1].engine->stats().pages_received, 1u);
  EXPECT_EQ(nodes_[1].transport->pages().stats().copies - reader_before.copies, 2u);
  EXPECT_EQ(nodes_[0].transport->pages().stats().copies - home_before.copies, 2u);
}

// Placement's input: which vCPU waited for pages from which node. A page
// that moved counts for the registered thread that faulted on it; a zero
// page (no data moved) and an unregistered thread's fault do not.
TEST_F(TwoNodes, PagesAVcpuWaitedForAreCountedByTheNodeTheyCameFrom) {
  ASSERT_TRUE(nodes_[1].engine->attributes_faults());
  *nodes_[0].At<uint64_t>(20 * abi::kPageSize) = 20;  // homed and written at node 0
  std::thread vcpu([this] {
    nodes_[1].engine->RegisterVcpuThread(static_cast<uint32_t>(::gettid()), 3);
    EXPECT_EQ(*nodes_[1].At<uint64_t>(10 * abi::kPageSize), 0x10adu);  // loaded at node 0
    EXPECT_EQ(*nodes_[1].At<uint64_t>(12 * abi::kPageSize), 0u);       // never written
  });
  vcpu.join();
  EXPECT_EQ(*nodes_[1].At<uint64_t>(20 * abi::kPageSize), 20u);  // this thread is no vCPU
  EXPECT_EQ(nodes_[1].engine->stats().pages_received, 2u);
  EXPECT_EQ(nodes_[1].engine->vcpu_pages_from(), (FaultEngine::VcpuPagesFrom{{3, {{0, 1}}}}));
  EXPECT_TRUE(nodes_[0].engine->vcpu_pages_from().empty());
}

TEST_F(TwoNodes, LoadedPagesAndWritesMoveBetweenNodes) {
  EXPECT_EQ(*nodes_[1].At<uint64_t>(10 * abi::kPageSize), 0x10adu);
  // Node 1 fills 64 pages; node 0 verifies every word.
  for (uint64_t p = 100; p < 164; ++p) {
    for (uint64_t w = 0; w < abi::kPageSize / 8; ++w)
      *nodes_[1].At<uint64_t>(p * abi::kPageSize + w * 8) = p * 1000 + w;
  }
  for (uint64_t p = 100; p < 164; ++p) {
    for (uint64_t w = 0; w < abi::kPageSize / 8; ++w) {
      ASSERT_EQ(*nodes_[0].At<uint64_t>(p * abi::kPageSize + w * 8), p * 1000 + w) << "page " << p;
    }
  }
  EXPECT_GE(nodes_[0].engine->stats().pages_received + nodes_[0].engine->stats().pages_sent, 64u);
}

TEST_F(TwoNodes, AtomicIncrementsOnBothNodesAreExact) {
  // Single writer: a locked add on either node's mapping is atomic for both.
  constexpr int kThreadsPerNode = 2, kIncrements = 1500;
  for (uint64_t offset : {5 * abi::kPageSize, 6 * abi::kPageSize}) {  // one page homed at each node
    std::vector<std::thread> threads;
    for (auto& node : nodes_) {
      for (int t = 0; t < kThreadsPerNode; ++t) {
        threads.emplace_back([&node, offset] {
          auto* c = reinterpret_cast<std::atomic<uint64_t>*>(node.At<uint64_t>(offset));
          for (int i = 0; i < kIncrements; ++i) c->fetch_add(1);
        });
      }
    }
    for (auto& t : threads) t.join();
    for (int n = 0; n < 2; ++n) {
      const uint64_t v = *nodes_[n].At<uint64_t>(offset);
      EXPECT_EQ(v, 2u * kThreadsPerNode * kIncrements) << "node " << n;
    }
  }
  // The pages really moved: each node received data from the other.
  EXPECT_GE(nodes_[0].engine->stats().pages_received, 1u);
  EXPECT_GE(nodes_[1].engine->stats().pages_received, 1u);
}

// Swallows what arrives: a home that never answers.
class Deaf : public cluster::ChannelHandler {
 public:
  void OnReceive(NodeId, std::span<const uint8_t>, PageBuffer) override {}
  void OnPeerLost(NodeId, const std::string&) override {}
};

// A fault whose request is never answered is reported once it waited the
// stall time, naming the page and its home.
TEST(FaultEngineStalls, AFaultNeverAnsweredIsReportedWithItsPage) {
  auto transports = cluster::ConnectLoopbackMesh(2);
  Deaf deaf;
  transports[0]->SetHandler(cluster::Channel::kCoherence, &deaf);
  transports[0]->Start();
  Mapping ram = Mapping::Anonymous(kSize, "node RAM");
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> reports;
  auto engine = std::make_unique<FaultEngine>(1, SharedRegion{kGpa, kSize, ram.data()}, HomeOf,
                                              *transports[1], [](const std::string&) {});
  engine->ReportStallsAfter(200ms, [&](const std::string& r) {
    std::lock_guard<std::mutex> l(mu);
    reports.push_back(r);
    cv.notify_all();
  });
  transports[1]->Start();
  engine->Start();
  std::thread reader([&] {
    // Page 4 is node 0's: the request goes there and is never answered.
    (void)*reinterpret_cast<volatile uint64_t*>(ram.data() + 4 * abi::kPageSize);
  });
  {
    std::unique_lock<std::mutex> l(mu);
    EXPECT_TRUE(cv.wait_for(l, 60s, [&] { return !reports.empty(); }));
  }
  transports[1]->Stop();  // the engine is its handler: stopped first
  engine.reset();         // closes the userfaultfd: the reader's access completes
  reader.join();
  ASSERT_EQ(reports.size(), 1u);  // once per fault
  EXPECT_THAT(reports[0],
              ::testing::HasSubstr(fmt::format("guest page {:#x}", kGpa + 4 * abi::kPageSize)));
  EXPECT_THAT(reports[0], ::testing::HasSubstr("its home: node 0"));
  transports[0]->Stop();
}

// Pages of `node`'s view homed at the other node that are resident here.
uint64_t ResidentRemotePages(Node& node, NodeId self) {
  std::vector<unsigned char> vec(kSize / abi::kPageSize);
  EXPECT_EQ(::mincore(node.ram.data(), kSize, vec.data()), 0);
  uint64_t n = 0;
  for (size_t i = 0; i < vec.size(); ++i) {
    if ((vec[i] & 1) != 0 && HomeOf(kGpa / abi::kPageSize + i) != self) ++n;
  }
  return n;
}

// Node 1 may keep 8 of node 0's pages: it writes and reads back ~500 of
// them. Eviction sends its dirty pages home and drops clean copies; every
// value survives, and node 1 never holds (mincore) more than its budget.
TEST_F(TwoNodes, ACacheLimitKeepsAWalkOverManyPagesWithinItsBudget) {
  constexpr uint64_t kLimit = 8;
  nodes_[1].engine->LimitCache(kLimit);
  const auto value = [](uint64_t p, uint64_t w) { return p * 7919 + w; };
  uint64_t most = 0;
  for (uint64_t p = 20; p < kSize / abi::kPageSize; p += 2) {  // homed at node 0
    for (uint64_t w = 0; w < abi::kPageSize / 8; w += 64)
      *nodes_[1].At<uint64_t>(p * abi::kPageSize + w * 8) = value(p, w);
    most = std::max(most, ResidentRemotePages(nodes_[1], 1));
  }
  uint64_t bad = 0;
  for (uint64_t p = 20; p < kSize / abi::kPageSize; p += 2) {
    for (uint64_t w = 0; w < abi::kPageSize / 8; w += 64)
      bad += *nodes_[1].At<uint64_t>(p * abi::kPageSize + w * 8) != value(p, w);
    most = std::max(most, ResidentRemotePages(nodes_[1], 1));
  }
  for (uint64_t p = 20; p < kSize / abi::kPageSize; p += 2) {
    for (uint64_t w = 0; w < abi::kPageSize / 8; w += 64)
      bad += *nodes_[0].At<uint64_t>(p * abi::kPageSize + w * 8) != value(p, w);
  }
  EXPECT_EQ(bad, 0u);
  // One more for a moment: the grant's install wakes the faulting thread
  // before the eviction it caused has run.
  EXPECT_LE(most, kLimit + 1);
  const DsmStats s = nodes_[1].engine->stats();
  EXPECT_LE(s.cached_pages, kLimit);
  EXPECT_EQ(s.cache_limit_pages, kLimit);
  EXPECT_GT(s.written_back, 400u);   // every written page went home
  EXPECT_GT(s.evicted_clean, 400u);  // and every page read back was dropped
  EXPECT_LE(static_cast<double>(s.metadata_bytes) / static_cast<double>(s.metadata_pages), 16.5);
}

// `writer` writes 100 of node 0's pages, then `reader` reads them in a row:
// after the first few faults the reader's engine asks for the pages ahead
// (from the writer, wherever they are homed), so most of them are there
// before they are touched, with the right contents.
void ExpectAReadingWalkFetchesAhead(Node& writer, Node& reader) {
  for (uint64_t p = 200; p < 400; p += 2) *writer.At<uint64_t>(p * abi::kPageSize) = p;
  const DsmStats before = reader.engine->stats();
  for (uint64_t p = 200; p < 400; p += 2) EXPECT_EQ(*reader.At<uint64_t>(p * abi::kPageSize), p);
  const DsmStats after = reader.engine->stats();
  EXPECT_GT(after.prefetched - before.prefetched, 50u);
  // Of 100 pages; a page still on its way when touched faults too (a busy
  // machine), so the bound is loose.
  EXPECT_LT(after.read_faults - before.read_faults, 90u);
  // And a few past the end of the walk, which the writer's own writes
  // (fetched ahead there too) left touched.
  EXPECT_GE(after.pages_received - before.pages_received, 100u);
  EXPECT_LE(after.pages_received - before.pages_received, 100u + Prefetch::Config{}.max_window);
}

TEST_F(TwoNodes, ASequentialWalkFetchesAhead) {
  ExpectAReadingWalkFetchesAhead(nodes_[0], nodes_[1]);
}

// The home reading back pages another node wrote fetches ahead from that
// node like any other.
TEST_F(TwoNodes, AHomeFetchesAheadItsOwnPagesFromTheNodeThatWroteThem) {
  ExpectAReadingWalkFetchesAhead(nodes_[1], nodes_[0]);
}

// A thread writing, in a row, pages its node only reads (read-only copies):
// the pages ahead are upgraded before they are written, and the other node
// reads every new value afterwards.
TEST_F(TwoNodes, AStreamOfWritesUpgradesThePagesAhead) {
  for (uint64_t p = 200; p < 400; p += 2) *nodes_[0].At<uint64_t>(p * abi::kPageSize) = p;
  for (uint64_t p = 200; p < 400; p += 2) EXPECT_EQ(*nodes_[1].At<uint64_t>(p * abi::kPageSize), p);
  const DsmStats before = nodes_[1].engine->stats();
  for (uint64_t p = 200; p < 400; p += 2) *nodes_[1].At<uint64_t>(p * abi::kPageSize) = p + 1;
  const DsmStats after = nodes_[1].engine->stats();
  EXPECT_GT(after.prefetched - before.prefetched, 50u);
  EXPECT_LT(after.write_faults - before.write_faults, 90u);
  for (uint64_t p = 200; p < 400; p += 2) {
    EXPECT_EQ(*nodes_[0].At<uint64_t>(p * abi::kPageSize), p + 1);
  }
}

}  // namespace
}  // namespace ssivm::dsm

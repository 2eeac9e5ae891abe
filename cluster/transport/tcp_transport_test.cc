// Real TCP connections on loopback between transports in one process.
#include "cluster/transport/tcp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/unique_fd.h"
#include "common/wire.h"

namespace ssivm::cluster {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::vector<uint8_t> Number(uint64_t k) {
  std::vector<uint8_t> out;
  wire::Writer(out).Put(k);
  return out;
}

uint64_t NumberIn(std::span<const uint8_t> payload) {
  return wire::Reader(payload).Get<uint64_t>();
}

// Page k: its number in every word, one byte flipped where it is unique.
PageBuffer PageNumbered(PagePool& pool, uint64_t k) {
  PageBuffer b = pool.Allocate();
  for (size_t i = 0; i < abi::kPageSize; i += 8) std::memcpy(b.mutable_data() + i, &k, 8);
  b.mutable_data()[k % abi::kPageSize] ^= 0xa5;
  return b;
}

bool IsPageNumbered(const PageBuffer& b, uint64_t k) {
  PagePool scratch;
  return b && b.SameBytes(PageNumbered(scratch, k));
}

struct Got {
  NodeId from;
  Channel channel;
  std::vector<uint8_t> payload;
  PageBuffer page;
};

// Records what arrives on one channel.
class Recorder : public ChannelHandler {
 public:
  explicit Recorder(Channel channel = Channel::kCoherence) : channel_(channel) {}
  void OnReceive(NodeId from, std::span<const uint8_t> payload, PageBuffer page) override {
    std::lock_guard<std::mutex> l(mu_);
    got_.push_back({from, channel_, {payload.begin(), payload.end()}, std::move(page)});
    cv_.notify_all();
  }
  void OnPeerLost(NodeId peer, const std::string& reason) override {
    std::lock_guard<std::mutex> l(mu_);
    lost_.emplace_back(peer, reason);
    cv_.notify_all();
  }
  bool WaitMessages(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, 60s, [&] { return got_.size() >= n; });
  }
  bool WaitLost() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, 60s, [&] { return !lost_.empty(); });
  }
  std::vector<Got> got_;
  std::vector<std::pair<NodeId, std::string>> lost_;

 private:
  const Channel channel_;
  std::mutex mu_;
  std::condition_variable cv_;
};

struct Mesh {
  // Recorders outlive the transports that call them.
  std::vector<std::unique_ptr<Recorder>> recorders;
  std::vector<std::unique_ptr<TcpTransport>> transports;
};

std::vector<TransportConfig> Configs(uint32_t n, std::vector<TcpListener>& listeners) {
  std::vector<NodeAddress> nodes;
  for (uint32_t i = 0; i < n; ++i) {
    listeners.push_back(TcpListener::Listen("127.0.0.1", 0));
    nodes.push_back({i, "127.0.0.1", listeners.back().port()});
  }
  std::vector<TransportConfig> configs(n);
  for (uint32_t i = 0; i < n; ++i) {
    configs[i].cluster_id = 0xc1;
    configs[i].epoch = 3;
    configs[i].self = i;
    configs[i].nodes = nodes;
    configs[i].connect_timeout = 20s;
    configs[i].security = TransportSecurity::kEncrypted;
    configs[i].secret.fill(0x5a);
  }
  return configs;
}

HandshakeConfig HandshakeOf(const TransportConfig& c) {
  return {c.cluster_id, c.epoch, c.self, c.security, c.secret};
}

std::vector<std::unique_ptr<TcpTransport>> ConnectAll(const std::vector<TransportConfig>& configs,
                                                      std::vector<TcpListener> listeners) {
  std::vector<std::future<std::unique_ptr<TcpTransport>>> futures;
  for (size_t i = 0; i < configs.size(); ++i) {
    futures.push_back(std::async(std::launch::async, [&, i] {
      return TcpTransport::Connect(configs[i], std::move(listeners[i]));
    }));
  }
  std::vector<std::unique_ptr<TcpTransport>> out;
  out.reserve(futures.size());
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

// Every node's coherence channel goes to its recorder.
Mesh Build(const std::vector<TransportConfig>& configs, std::vector<TcpListener> listeners) {
  Mesh m;
  m.transports = ConnectAll(configs, std::move(listeners));
  for (auto& t : m.transports) {
    m.recorders.push_back(std::make_unique<Recorder>());
    t->SetHandler(Channel::kCoherence, m.recorders.back().get());
    t->Start();
  }
  return m;
}

TEST(TcpTransport, FullMeshDeliversInOrder) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(4, listeners);
  Mesh m = Build(configs, std::move(listeners));
  constexpr size_t kPerPair = 200;
  for (NodeId from = 0; from < 4; ++from) {
    for (size_t k = 0; k < kPerPair; ++k) {
      for (NodeId to = 0; to < 4; ++to) {
        if (to != from) m.transports[from]->Send(to, Channel::kCoherence, Number(k));
      }
    }
  }
  for (NodeId to = 0; to < 4; ++to) {
    ASSERT_TRUE(m.recorders[to]->WaitMessages(3 * kPerPair)) << "node " << to;
    std::map<NodeId, uint64_t> next;
    for (const Got& g : m.recorders[to]->got_) {
      EXPECT_EQ(NumberIn(g.payload), next[g.from]++) << "reordered from " << g.from << " to " << to;
    }
  }
  EXPECT_EQ(m.transports[0]->messages_sent(), 3u * kPerPair);
}

// A page travels beside its payload and lands in a buffer of the receiver's
// pool, copied once (from the socket, then opened in place); the sender
// copies nothing but what it encrypts (into a buffer of its own: the page it
// sends may be shared).
TEST(TcpTransport, PagesArriveInPooledBuffersWithOneCopyInEverySecurity) {
  for (const auto security : {TransportSecurity::kNone, TransportSecurity::kAuthenticated,
                              TransportSecurity::kEncrypted}) {
    SCOPED_TRACE(SecurityName(security));
    std::vector<TcpListener> listeners;
    auto configs = Configs(2, listeners);
    for (auto& c : configs) c.security = security;
    Mesh m = Build(configs, std::move(listeners));
    PagePool& sender = m.transports[0]->pages();
    std::vector<PageBuffer> pages;
    for (uint64_t k = 0; k < 50; ++k) pages.push_back(PageNumbered(sender, k));
    for (uint64_t k = 0; k < 50; ++k) {
      m.transports[0]->Send(1, Channel::kCoherence, Number(k), k % 2 ? pages[k] : PageBuffer());
    }
    ASSERT_TRUE(m.recorders[1]->WaitMessages(50));
    for (const Got& g : m.recorders[1]->got_) {
      const uint64_t k = NumberIn(g.payload);
      EXPECT_EQ(static_cast<bool>(g.page), k % 2 == 1) << k;
      if (k % 2) {
        EXPECT_TRUE(IsPageNumbered(g.page, k)) << k;
      }
    }
    for (uint64_t k = 0; k < 50; ++k) EXPECT_TRUE(IsPageNumbered(pages[k], k)) << "changed " << k;
    EXPECT_EQ(m.transports[1]->pages().stats().copies, 25u);
    EXPECT_EQ(sender.stats().copies, security == TransportSecurity::kEncrypted ? 25u : 0u);
  }
}

// A corked thread's sends wait (no socket write) until its outermost Uncork,
// then go out together, in order, to every peer it sent to.
TEST(TcpTransport, CorkedSendsGoOutTogetherInOrder) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(3, listeners);
  // A heartbeat's write would take the corked frames with it.
  for (auto& c : configs) c.heartbeat_timeout = 0ms;
  Mesh m = Build(configs, std::move(listeners));
  TcpTransport& t = *m.transports[0];
  PagePool& pool = t.pages();
  constexpr uint64_t kFrames = 40;
  const uint64_t writes_before = t.socket_writes();
  {
    const SendBatch outer(t);
    {
      const SendBatch inner(t);
      for (uint64_t k = 0; k < kFrames / 2; ++k) {
        t.Send(1, Channel::kCoherence, Number(k), k % 2 ? PageNumbered(pool, k) : PageBuffer());
      }
    }
    for (uint64_t k = kFrames / 2; k < kFrames; ++k) {
      t.Send(1, Channel::kCoherence, Number(k), k % 2 ? PageNumbered(pool, k) : PageBuffer());
      t.Send(2, Channel::kCoherence, Number(k));
    }
    EXPECT_EQ(t.socket_writes(), writes_before);  // the inner Uncork wrote nothing
  }
  ASSERT_TRUE(m.recorders[1]->WaitMessages(kFrames));
  ASSERT_TRUE(m.recorders[2]->WaitMessages(kFrames / 2));
  for (uint64_t k = 0; k < kFrames; ++k) {
    EXPECT_EQ(NumberIn(m.recorders[1]->got_[k].payload), k);
    EXPECT_EQ(static_cast<bool>(m.recorders[1]->got_[k].page), k % 2 == 1);
    if (k % 2) {
      EXPECT_TRUE(IsPageNumbered(m.recorders[1]->got_[k].page, k)) << k;
    }
  }
  for (uint64_t k = 0; k < kFrames / 2; ++k) {
    EXPECT_EQ(NumberIn(m.recorders[2]->got_[k].payload), kFrames / 2 + k);
  }
  // 60 frames in gather writes of up to 64 pieces (a page frame is three):
  // a handful, not one per frame, even if the socket took them in parts.
  EXPECT_LT(t.socket_writes() - writes_before, 15u);
}

// Frames to one peer keep their order across channels (one handler serves
// both here, so the interleaving shows).
TEST(TcpTransport, ChannelsShareOnePerPeerOrder) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  Recorder both;  // outlives the transports that call it
  auto t = ConnectAll(configs, std::move(listeners));
  t[1]->SetHandler(Channel::kCoherence, &both);
  t[1]->SetHandler(Channel::kControl, &both);
  t[0]->Start();
  t[1]->Start();
  for (uint64_t k = 0; k < 100; ++k) {
    t[0]->Send(1, k % 3 ? Channel::kCoherence : Channel::kControl, Number(k));
  }
  ASSERT_TRUE(both.WaitMessages(100));
  for (uint64_t k = 0; k < 100; ++k) EXPECT_EQ(NumberIn(both.got_[k].payload), k);
  for (auto& x : t) x->Stop();
}

TEST(TcpTransport, AFrameOnAChannelNobodyServesLosesThePeer) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  Mesh m = Build(configs, std::move(listeners));  // coherence only
  m.transports[0]->Send(1, Channel::kControl, Number(1));
  ASSERT_TRUE(m.recorders[1]->WaitLost());
  EXPECT_THAT(m.recorders[1]->lost_[0].second, HasSubstr("control"));
  EXPECT_THAT(m.recorders[1]->lost_[0].second, HasSubstr("does not serve"));
}

TEST(TcpTransport, APayloadLargerThanAFrameIsRefused) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  Mesh m = Build(configs, std::move(listeners));
  const std::vector<uint8_t> big(kMaxFramePayload + 1);
  EXPECT_THROW(m.transports[0]->Send(1, Channel::kCoherence, big), Error);
}

int RawConnect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  return fd;
}

// A node with a sparse id joins a running mesh: it dials every member, each
// lets it in once AddPeer admitted it (the connection attempts before that
// are refused), and frames flow both ways on the new connections.
TEST(TcpTransport, APeerAddedAtRuntimeJoinsTheMesh) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  Mesh m = Build(configs, std::move(listeners));
  TransportConfig joiner = configs[0];
  TcpListener joiner_listener = TcpListener::Listen("127.0.0.1", 0);
  const NodeAddress five{5, "127.0.0.1", joiner_listener.port()};
  joiner.self = 5;
  joiner.epoch = 4;
  joiner.nodes.push_back(five);
  auto joined = std::async(std::launch::async, [&] {
    return TcpTransport::Connect(joiner, std::move(joiner_listener));
  });
  std::this_thread::sleep_for(200ms);  // let it knock before it is admitted (not required)
  auto admit1 = std::async(std::launch::async, [&] { m.transports[1]->AddPeer(five, 4); });
  m.transports[0]->AddPeer(five, 4);
  admit1.get();
  Recorder r5;  // outlives the transport that calls it
  std::unique_ptr<TcpTransport> t5 = joined.get();
  t5->SetHandler(Channel::kCoherence, &r5);
  t5->Start();
  PagePool& pool = t5->pages();
  t5->Send(0, Channel::kCoherence, Number(50), PageNumbered(pool, 50));
  t5->Send(1, Channel::kCoherence, Number(51));
  m.transports[0]->Send(5, Channel::kCoherence, Number(5));
  m.transports[1]->Send(5, Channel::kCoherence, Number(15));
  ASSERT_TRUE(m.recorders[0]->WaitMessages(1));
  ASSERT_TRUE(m.recorders[1]->WaitMessages(1));
  ASSERT_TRUE(r5.WaitMessages(2));
  EXPECT_EQ(m.recorders[0]->got_[0].from, 5u);
  EXPECT_TRUE(IsPageNumbered(m.recorders[0]->got_[0].page, 50));
  EXPECT_EQ(NumberIn(m.recorders[1]->got_[0].payload), 51u);
  uint64_t sum = 0;
  for (const Got& g : r5.got_) sum += NumberIn(g.payload);
  EXPECT_EQ(sum, 20u);
  EXPECT_THROW(m.transports[0]->AddPeer(five, 4), Error);  // a peer already
  t5->Stop();
}

// A peer that leaves is closed in order: what was queued to it arrives, no
// loss is reported on either side, and the others go on.
TEST(TcpTransport, ARemovedPeerIsClosedWithoutALossReport) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(3, listeners);
  Mesh m = Build(configs, std::move(listeners));
  m.transports[0]->Send(2, Channel::kCoherence, Number(1));
  m.transports[0]->RemovePeer(2);
  ASSERT_TRUE(m.recorders[2]->WaitMessages(1));
  m.transports[2]->RemovePeer(0);  // node 2 applies the same change
  EXPECT_THROW(m.transports[0]->Send(2, Channel::kCoherence, Number(2)), Error);
  EXPECT_THROW(m.transports[0]->RemovePeer(2), Error);
  m.transports[0]->Send(1, Channel::kCoherence, Number(3));
  m.transports[2]->Send(1, Channel::kCoherence, Number(4));
  ASSERT_TRUE(m.recorders[1]->WaitMessages(2));
  std::this_thread::sleep_for(200ms);  // a loss report would come now
  for (auto& r : m.recorders) EXPECT_TRUE(r->lost_.empty()) << r->lost_.front().second;
}

// Connections to a running node that are not an admitted peer are refused
// one by one, without an answer, each for its reason, while the mesh goes on.
TEST(TcpTransport, ConnectionsNobodyAdmittedAreRefusedWhileTheMeshGoesOn) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].connect_timeout = 1s;  // how long a silent connection may stay
  const uint16_t port = listeners[0].port();
  Mesh m = Build(configs, std::move(listeners));
  const int silent = RawConnect(port);
  const int junk = RawConnect(port);
  const int stranger = RawConnect(port);
  ASSERT_GE(silent, 0);
  ASSERT_GE(junk, 0);
  ASSERT_GE(stranger, 0);
  const char text[] = "GET / HTTP/1.0\r\n\r\n";
  (void)!::send(junk, text, sizeof(text) - 1, MSG_NOSIGNAL);
  TransportConfig nine = configs[0];
  nine.self = 9;
  const std::vector<uint8_t> hello = DialerHandshake(HandshakeOf(nine)).Hello();
  (void)!::send(stranger, hello.data(), hello.size(), MSG_NOSIGNAL);
  for (int fd : {junk, stranger, silent}) {
    uint8_t byte;
    // Closed (or reset, where it sent what was not read): never an answer.
    EXPECT_LE(::recv(fd, &byte, 1, 0), 0) << "a refused connection got an answer";
    ::close(fd);
  }
  EXPECT_EQ(m.transports[0]->connections_refused(), 3u);
  m.transports[1]->Send(0, Channel::kCoherence, Number(8));
  ASSERT_TRUE(m.recorders[0]->WaitMessages(1));
  EXPECT_TRUE(m.recorders[0]->lost_.empty());
}

// A peer that does not read, with its queue at the cap: removing it still
// ends (at the flush timeout), and its Goodbye is not refused by the cap.
TEST(TcpTransport, RemovingAPeerThatDoesNotReadEndsAtTheFlushTimeout) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  for (auto& c : configs) {
    c.max_queued_bytes = 256 << 10;
    c.flush_timeout = 300ms;
  }
  Recorder r0;  // outlive the transports that call them
  Recorder r1;
  auto t = ConnectAll(configs, std::move(listeners));
  t[0]->SetHandler(Channel::kCoherence, &r0);
  t[0]->Start();  // node 1 never starts receiving
  bool refused = false;
  for (uint64_t k = 0; k < 10000 && !refused; ++k) {
    try {
      t[0]->Send(1, Channel::kCoherence, Number(k), PageNumbered(t[0]->pages(), k));
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("the peer is not reading"));
      refused = true;
    }
  }
  ASSERT_TRUE(refused);
  t[0]->RemovePeer(1);
  EXPECT_THROW(t[0]->Send(1, Channel::kCoherence, Number(0)), Error);
  t[1]->SetHandler(Channel::kCoherence, &r1);
  t[1]->Stop();
}

TEST(TcpTransport, APeerThatNeverJoinsIsNamedAtTheTimeout) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].connect_timeout = 500ms;
  Mesh m = Build(configs, std::move(listeners));
  try {
    m.transports[0]->AddPeer({7, "127.0.0.1", 1}, 4);
    FAIL() << "a peer that never came was added";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("node 7 (127.0.0.1:1) did not join node 0 in time"));
  }
}

TEST(TcpTransport, MismatchedClusterIsRejectedWithNames) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[1].cluster_id = 0xbad;
  configs[0].connect_timeout = configs[1].connect_timeout = 5s;
  auto a = std::async(std::launch::async,
                      [&] { return TcpTransport::Connect(configs[0], std::move(listeners[0])); });
  try {
    TcpTransport::Connect(configs[1], std::move(listeners[1]));
    FAIL() << "a node of another cluster was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("node 0 (127.0.0.1:"));
    EXPECT_THAT(e.what(), HasSubstr("cluster 0xc1"));
  }
  EXPECT_THROW(a.get(), Error);
}

TEST(TcpTransport, MismatchedEpochIsRejected) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].epoch = 4;
  configs[0].connect_timeout = configs[1].connect_timeout = 5s;
  auto a = std::async(std::launch::async,
                      [&] { return TcpTransport::Connect(configs[0], std::move(listeners[0])); });
  try {
    TcpTransport::Connect(configs[1], std::move(listeners[1]));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("epoch 4"));
  }
  EXPECT_THROW(a.get(), Error);
}

TEST(TcpTransport, AnotherSecretOrSecurityIsRejectedWithNames) {
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<TcpListener> listeners;
    auto configs = Configs(2, listeners);
    if (variant == 0) configs[1].secret.fill(0x11);
    if (variant == 1) configs[1].security = TransportSecurity::kNone;
    configs[0].connect_timeout = configs[1].connect_timeout = 5s;
    auto a = std::async(std::launch::async,
                        [&] { return TcpTransport::Connect(configs[0], std::move(listeners[0])); });
    try {
      TcpTransport::Connect(configs[1], std::move(listeners[1]));
      FAIL() << "a node without the cluster's secret or security joined";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("handshake with node 0"));
      EXPECT_THAT(e.what(),
                  HasSubstr(variant == 0 ? "secrets differ"
                                         : "runs its transport encrypted, this node none"));
    }
    EXPECT_THROW(a.get(), Error);
  }
}

// One handshake frame (header and payload) from a raw socket, blocking.
std::pair<FrameHeader, std::vector<uint8_t>> ReadFrame(int fd) {
  std::array<uint8_t, kFrameHeaderSize> header{};
  EXPECT_EQ(::recv(fd, header.data(), header.size(), MSG_WAITALL),
            static_cast<ssize_t>(header.size()));
  const FrameHeader h = DecodeFrameHeader(header);
  std::vector<uint8_t> payload(h.payload);
  EXPECT_EQ(::recv(fd, payload.data(), payload.size(), MSG_WAITALL),
            static_cast<ssize_t>(payload.size()));
  return {h, payload};
}

bool SendAll(int fd, const std::vector<uint8_t>& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// The deadline can pass while the last attempt waits for an answer: the error
// still names what the peer answered before (its epoch), not only the timeout.
TEST(TcpTransport, AJoinThatTimesOutNamesThePeersLastAnswer) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].epoch = 4;
  configs[1].connect_timeout = 1s;
  std::atomic<bool> done{false};
  std::thread acceptor([&] {
    std::vector<UniqueFd> held;  // attempts after the first: never answered
    while (!done) {
      pollfd pfd{listeners[0].fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      UniqueFd fd(::accept4(listeners[0].fd(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd.valid()) continue;
      if (held.empty()) {
        const auto hello = ReadFrame(fd.get());
        AcceptorHandshake h(HandshakeOf(configs[0]));
        h.OnHello(hello.first, hello.second);
        EXPECT_TRUE(SendAll(fd.get(), h.Reply()));
      }
      held.push_back(std::move(fd));
    }
  });
  try {
    TcpTransport::Connect(configs[1], std::move(listeners[1]));
    ADD_FAILURE() << "joined a node at another epoch";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("has manifest epoch 4, this node 3"));
    EXPECT_THAT(e.what(), HasSubstr("last attempt: node 0 (127.0.0.1:"));
    EXPECT_THAT(e.what(), HasSubstr("no handshake before the timeout"));
  }
  done = true;
  acceptor.join();
}

// While the mesh forms, connections that are junk, idle, forged (a Hello as
// node 1 without the secret) or replayed (node 1's side of a recorded
// handshake) are refused one by one, and the real node 1 joins at once.
TEST(TcpTransport, TheMeshFormsDespiteJunkIdleForgedAndReplayedConnections) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].connect_timeout = 60s;  // an idle connection must not cost this
  Recorder r;                        // outlives the transports that call it
  const uint16_t port = listeners[0].port();
  auto a = std::async(std::launch::async,
                      [&] { return TcpTransport::Connect(configs[0], std::move(listeners[0])); });
  const int idle = RawConnect(port);
  const int junk = RawConnect(port);
  const int forged = RawConnect(port);
  const int replayed = RawConnect(port);
  ASSERT_GE(idle, 0);
  ASSERT_GE(junk, 0);
  ASSERT_GE(forged, 0);
  ASSERT_GE(replayed, 0);
  ASSERT_TRUE(
      SendAll(junk, {'G', 'E', 'T', ' ', '/', '\r', '\n', '\r', '\n', 0, 0, 0, 0, 0, 0, 0}));

  // The forger knows everything public: its Hello is answered, its Finish
  // (it cannot sign one) is refused.
  TransportConfig forger = configs[1];
  forger.secret.fill(0x01);
  DialerHandshake f(HandshakeOf(forger));
  ASSERT_TRUE(SendAll(forged, f.Hello()));
  const auto reply = ReadFrame(forged);
  EXPECT_THROW(f.OnReply(reply.first, reply.second, 0), Error);  // it cannot check it either
  std::vector<uint8_t> finish;
  EncodeFrameHeader({Channel::kHandshake, false, 1 + kMacBytes, 1}, finish);
  finish.push_back(static_cast<uint8_t>(HandshakeKind::kFinish));
  finish.resize(finish.size() + kMacBytes, 0x42);
  ASSERT_TRUE(SendAll(forged, finish));

  // A handshake of node 1 with node 0 recorded earlier (here: with a stand-in
  // of node 0 that has its secret), played again.
  DialerHandshake recorded(HandshakeOf(configs[1]));
  AcceptorHandshake earlier(HandshakeOf(configs[0]));
  const std::vector<uint8_t> hello = recorded.Hello();
  const std::span<const uint8_t> hello_payload(hello.data() + kFrameHeaderSize,
                                               hello.size() - kFrameHeaderSize);
  earlier.OnHello({Channel::kHandshake, false, static_cast<uint32_t>(hello_payload.size()), 1},
                  hello_payload);
  const std::vector<uint8_t> earlier_reply = earlier.Reply();
  const std::vector<uint8_t> old_finish =
      recorded.OnReply({Channel::kHandshake, false,
                        static_cast<uint32_t>(earlier_reply.size() - kFrameHeaderSize), 0},
                       std::span<const uint8_t>(earlier_reply).subspan(kFrameHeaderSize), 0);
  ASSERT_TRUE(SendAll(replayed, hello));
  ReadFrame(replayed);  // node 0's Reply, with a nonce of its own
  ASSERT_TRUE(SendAll(replayed, old_finish));

  for (int fd : {junk, forged, replayed}) {
    uint8_t byte;
    EXPECT_LE(::recv(fd, &byte, 1, 0), 0) << "a refused connection was kept";
  }
  // Now the real node 1; the idle connection is still open.
  auto t1 = TcpTransport::Connect(configs[1], std::move(listeners[1]));
  auto t0 = a.get();
  EXPECT_EQ(t0->connections_refused(), 3u) << t0->last_refusal();
  t0->SetHandler(Channel::kCoherence, &r);
  t0->Start();
  t1->Start();
  t1->Send(0, Channel::kCoherence, Number(5));
  ASSERT_TRUE(r.WaitMessages(1));
  EXPECT_EQ(NumberIn(r.got_[0].payload), 5u);
  for (int fd : {idle, junk, forged, replayed}) ::close(fd);
}

TEST(TcpTransport, RefusalsSayWhy) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].connect_timeout = 1s;
  const uint16_t port = listeners[0].port();
  auto a = std::async(std::launch::async,
                      [&] { return TcpTransport::Connect(configs[0], std::move(listeners[0])); });
  const int fd = RawConnect(port);
  ASSERT_GE(fd, 0);
  const char junk[] = "GET / HTTP/1.0\r\n\r\n";
  (void)!::send(fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL);
  try {
    a.get();
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("did not connect in time: node 1"));
    EXPECT_THAT(e.what(), HasSubstr("last refused: a connection from 127.0.0.1"));
    EXPECT_THAT(e.what(), HasSubstr("bad magic"));
  }
  ::close(fd);
}

// Node 0's transport, started, with node 1 a raw socket that passed the
// handshake: what a test sends on `fd` is what node 0 receives from node 1.
struct RawPeer {
  explicit RawPeer(std::chrono::milliseconds heartbeat_timeout = 5s) {
    std::vector<TcpListener> listeners;
    auto configs = Configs(2, listeners);
    configs[0].heartbeat_timeout = heartbeat_timeout;
    const uint16_t port = listeners[0].port();
    auto a = std::async(std::launch::async,
                        [&] { return TcpTransport::Connect(configs[0], std::move(listeners[0])); });
    fd = RawConnect(port);
    DialerHandshake handshake(HandshakeOf(configs[1]));
    EXPECT_TRUE(SendAll(fd, handshake.Hello()));
    const auto reply = ReadFrame(fd);
    EXPECT_TRUE(SendAll(fd, handshake.OnReply(reply.first, reply.second, 0)));
    seal = std::make_unique<FrameSeal>(configs[1].security, handshake.keys().send);
    t = a.get();
    t->SetHandler(Channel::kCoherence, &r);
    t->Start();
  }
  // A frame as node 1's transport would send it (with `page`: the page and
  // its tag follow).
  std::vector<uint8_t> Sealed(Channel channel, const std::vector<uint8_t>& payload,
                              const PageBuffer& page = {}) const {
    std::vector<uint8_t> frame;
    EncodeFrameHeader({channel, static_cast<bool>(page), static_cast<uint32_t>(payload.size()), 1},
                      frame);
    frame.insert(frame.end(), payload.begin(), payload.end());
    seal->SealHead(frame);
    if (page) {
      PagePool pool;
      PageBuffer out;
      const Tag tag = seal->SealPage(page, out, pool);
      frame.insert(frame.end(), out.data(), out.data() + abi::kPageSize);
      frame.insert(frame.end(), tag.begin(), tag.begin() + seal->tag_bytes());
    }
    return frame;
  }
  ~RawPeer() {
    t->Stop();
    ::close(fd);
  }
  bool Send(const std::vector<uint8_t>& bytes) const {
    return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  int fd = -1;
  std::unique_ptr<FrameSeal> seal;
  Recorder r;  // outlives the transport that calls it
  std::unique_ptr<TcpTransport> t;
};

TEST(TcpTransport, GarbageAfterTheHandshakeLosesThePeerByName) {
  RawPeer p;
  std::vector<uint8_t> frame;
  EncodeFrameHeader({Channel::kCoherence, false, 0, 1}, frame);
  frame[5] = 200;  // an unknown channel
  ASSERT_TRUE(p.Send(frame));
  ASSERT_TRUE(p.r.WaitLost());
  EXPECT_EQ(p.r.lost_[0].first, 1u);
  EXPECT_THAT(p.r.lost_[0].second, HasSubstr("node 1 (127.0.0.1:"));
  EXPECT_THAT(p.r.lost_[0].second, HasSubstr("unknown channel 200"));
}

// The receiver reads ahead of each frame's stage: frames cut anywhere
// (inside a header, a payload, a page or a tag, several in one piece) arrive
// whole and in order.
TEST(TcpTransport, FramesCutAnywhereArriveWholeAndInOrder) {
  RawPeer p;
  PagePool pool;
  std::vector<uint8_t> stream;
  constexpr uint64_t kFrames = 60;
  for (uint64_t k = 0; k < kFrames; ++k) {
    std::vector<uint8_t> payload = Number(k);
    payload.resize(8 + (k * 37) % 200, static_cast<uint8_t>(k));
    const std::vector<uint8_t> f =
        p.Sealed(Channel::kCoherence, payload, k % 3 ? PageNumbered(pool, k) : PageBuffer());
    stream.insert(stream.end(), f.begin(), f.end());
  }
  const size_t cuts[] = {1, 7, 16, 300, 513, 4000, 5, 9000, 33};
  for (size_t at = 0, i = 0; at < stream.size(); ++i) {
    const size_t n = std::min(cuts[i % std::size(cuts)], stream.size() - at);
    ASSERT_TRUE(p.Send({stream.begin() + static_cast<ptrdiff_t>(at),
                        stream.begin() + static_cast<ptrdiff_t>(at + n)}));
    at += n;
    if (i % 4 == 0) std::this_thread::sleep_for(1ms);  // let some pieces arrive alone
  }
  ASSERT_TRUE(p.r.WaitMessages(kFrames));
  for (uint64_t k = 0; k < kFrames; ++k) {
    const Got& g = p.r.got_[k];
    EXPECT_EQ(NumberIn(g.payload), k);
    EXPECT_EQ(g.payload.size(), 8 + (k * 37) % 200) << k;
    EXPECT_EQ(static_cast<bool>(g.page), k % 3 != 0) << k;
    if (k % 3) {
      EXPECT_TRUE(IsPageNumbered(g.page, k)) << k;
    }
  }
  EXPECT_TRUE(p.r.lost_.empty());
}

TEST(TcpTransport, AFrameThatFailsAuthenticationLosesThePeer) {
  RawPeer p;
  ASSERT_TRUE(p.Send(p.Sealed(Channel::kCoherence, Number(1))));
  ASSERT_TRUE(p.r.WaitMessages(1));
  EXPECT_EQ(NumberIn(p.r.got_[0].payload), 1u);
  std::vector<uint8_t> changed = p.Sealed(Channel::kCoherence, Number(2));
  changed[kFrameHeaderSize] ^= 1;
  ASSERT_TRUE(p.Send(changed));
  ASSERT_TRUE(p.r.WaitLost());
  EXPECT_THAT(p.r.lost_[0].second, HasSubstr("node 1 (127.0.0.1:"));
  EXPECT_THAT(p.r.lost_[0].second, HasSubstr("failed authentication"));
  EXPECT_EQ(p.r.got_.size(), 1u);
}

// A peer that passed its handshake and then says nothing (hung, stopped,
// cut off: its connection stays open) is lost at the heartbeat timeout.
TEST(TcpTransport, ASilentPeerIsLostAtTheHeartbeatTimeout) {
  RawPeer p(500ms);
  ASSERT_TRUE(p.r.WaitLost());
  EXPECT_EQ(p.r.lost_[0].first, 1u);
  EXPECT_THAT(p.r.lost_[0].second, HasSubstr("node 1 (127.0.0.1:"));
  EXPECT_THAT(p.r.lost_[0].second, HasSubstr("sent nothing for"));
}

// Idle peers keep each other alive with heartbeats, which every link's
// status shows.
TEST(TcpTransport, IdlePeersStayConnectedThroughHeartbeats) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(3, listeners);
  for (auto& c : configs) c.heartbeat_timeout = 1s;
  Mesh m = Build(configs, std::move(listeners));
  std::this_thread::sleep_for(4s);  // four timeouts without a message
  for (auto& r : m.recorders) EXPECT_TRUE(r->lost_.empty()) << r->lost_.front().second;
  for (NodeId i = 0; i < 3; ++i) {
    EXPECT_GE(m.transports[i]->messages_sent(), 2u) << "node " << i << " sent no heartbeat";
    const std::vector<LinkStatus> links = m.transports[i]->Links();
    ASSERT_EQ(links.size(), 2u);
    for (const LinkStatus& l : links) {
      EXPECT_NE(l.peer, i);
      EXPECT_THAT(l.address, HasSubstr("127.0.0.1:"));
    }
  }
  m.transports[2]->Send(0, Channel::kCoherence, Number(1));
  ASSERT_TRUE(m.recorders[0]->WaitMessages(1));
}

// A Goodbye may carry nothing: a page with it is a bad message, not a page
// that would slip into the next frame.
TEST(TcpTransport, AGoodbyeWithAPageLosesThePeer) {
  RawPeer p;
  std::vector<uint8_t> frame;
  EncodeFrameHeader({Channel::kHandshake, true, 0, 1}, frame);
  frame.resize(frame.size() + abi::kPageSize);
  ASSERT_TRUE(p.Send(frame));
  ASSERT_TRUE(p.r.WaitLost());
  EXPECT_THAT(p.r.lost_[0].second, HasSubstr("handshake frame with a page"));
  EXPECT_TRUE(p.r.got_.empty());
}

TEST(TcpTransport, MissingPeersAreNamedAtTheTimeout) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(3, listeners);
  configs[0].connect_timeout = 1s;
  try {
    TcpTransport::Connect(configs[0], std::move(listeners[0]));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("did not connect in time"));
    EXPECT_THAT(e.what(), HasSubstr("node 1"));
    EXPECT_THAT(e.what(), HasSubstr("node 2"));
  }
}

TEST(TcpTransport, APeerThatDiesIsReportedByName) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(3, listeners);
  Mesh m = Build(configs, std::move(listeners));
  m.transports[2]->Stop();
  m.transports[2].reset();
  for (NodeId n : {0u, 1u}) {
    ASSERT_TRUE(m.recorders[n]->WaitLost());
    EXPECT_EQ(m.recorders[n]->lost_[0].first, 2u);
    EXPECT_THAT(m.recorders[n]->lost_[0].second, HasSubstr("node 2 (127.0.0.1:"));
  }
}

// A peer that sends a Shutdown and stops: sends to it afterwards (an
// acknowledgement racing with its stop) are dropped, not errors, and what
// it sent arrives before its loss is reported.
TEST(TcpTransport, SendsToAPeerThatStoppedAreDroppedAndItsShutdownComesFirst) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  Mesh m = Build(configs, std::move(listeners));
  m.transports[1]->Send(0, Channel::kCoherence, Number(5));
  m.transports[1]->Stop();
  ASSERT_TRUE(m.recorders[0]->WaitLost());
  for (int k = 0; k < 64; ++k) {
    EXPECT_NO_THROW(m.transports[0]->Send(1, Channel::kCoherence, Number(0)));
  }
  ASSERT_TRUE(m.recorders[0]->WaitMessages(1));
  EXPECT_EQ(NumberIn(m.recorders[0]->got_.front().payload), 5u);
  m.transports[0]->Stop();
  EXPECT_THROW(m.transports[0]->Send(1, Channel::kCoherence, Number(0)), Error);
}

// Every node answers a kick (a frame without a page) by sending `count`
// pages back from inside its receive callback, holding its own lock (as the
// fault engine does), and checks that what it receives arrives whole and in
// order.
class PageFlood : public ChannelHandler {
 public:
  PageFlood(Transport*& transport, uint64_t count) : transport_(transport), count_(count) {}
  void OnReceive(NodeId from, std::span<const uint8_t> payload, PageBuffer page) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!page) {
      for (uint64_t k = 0; k < count_; ++k) {
        transport_->Send(from, Channel::kCoherence, Number(k),
                         PageNumbered(transport_->pages(), k));
      }
    } else {
      if (NumberIn(payload) != next_ || !IsPageNumbered(page, next_)) ++bad_;
      ++next_;
    }
    cv_.notify_all();
  }
  void OnPeerLost(NodeId, const std::string& reason) override {
    std::lock_guard<std::mutex> l(mu_);
    lost_ = reason;
    cv_.notify_all();
  }
  // Waits until `n` pages arrived (or the peer is lost); returns how many.
  uint64_t Wait(uint64_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, 120s, [&] { return next_ >= n || !lost_.empty(); });
    return next_;
  }
  uint64_t bad() {
    std::lock_guard<std::mutex> l(mu_);
    return bad_;
  }

 private:
  Transport*& transport_;
  const uint64_t count_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ = 0;
  uint64_t bad_ = 0;
  std::string lost_;
};

// Both nodes send far more than the socket buffers hold, to each other, from
// their receive threads while holding a lock. A transport whose Send blocked
// on the socket would deadlock here: each receive thread stuck in send(), so
// neither reads.
TEST(TcpTransport, BothSidesFloodingFromTheReceiveCallbackDoNotDeadlock) {
  constexpr uint64_t kPages = 8000;  // 32 MiB each way
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  auto transports = ConnectAll(configs, std::move(listeners));
  Transport* raw[2] = {transports[0].get(), transports[1].get()};
  PageFlood flood0(raw[0], kPages), flood1(raw[1], kPages);
  transports[0]->SetHandler(Channel::kCoherence, &flood0);
  transports[1]->SetHandler(Channel::kCoherence, &flood1);
  transports[0]->Start();
  transports[1]->Start();
  transports[0]->Send(1, Channel::kCoherence, Number(0));
  transports[1]->Send(0, Channel::kCoherence, Number(0));
  EXPECT_EQ(flood0.Wait(kPages), kPages);
  EXPECT_EQ(flood1.Wait(kPages), kPages);
  EXPECT_EQ(flood0.bad(), 0u);
  EXPECT_EQ(flood1.bad(), 0u);
  // Queued pages went out together (one sendmsg for many frames).
  const uint64_t sent = transports[0]->messages_sent() + transports[1]->messages_sent();
  const uint64_t writes = transports[0]->socket_writes() + transports[1]->socket_writes();
  EXPECT_EQ(sent, 2 * kPages + 2);
  EXPECT_LT(writes, sent);
  transports[0]->Stop();
  transports[1]->Stop();
}

// Stop() lets what is queued go out first: a Shutdown sent just before
// stopping reaches the peer.
TEST(TcpTransport, StopDeliversWhatWasQueued) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  for (auto& c : configs) c.flush_timeout = 60s;
  Mesh m = Build(configs, std::move(listeners));
  constexpr int kPages = 3000;
  PagePool& pool = m.transports[0]->pages();
  for (int k = 0; k < kPages; ++k) {
    m.transports[0]->Send(1, Channel::kCoherence, Number(k), PageNumbered(pool, k));
  }
  m.transports[0]->Send(1, Channel::kCoherence, Number(7));
  m.transports[0]->Stop();
  ASSERT_TRUE(m.recorders[1]->WaitMessages(kPages + 1));
  EXPECT_EQ(NumberIn(m.recorders[1]->got_.back().payload), 7u);
  EXPECT_FALSE(m.recorders[1]->got_.back().page);
  EXPECT_THROW(m.transports[0]->Send(1, Channel::kCoherence, Number(0)), Error);
}

// A peer that stops reading cannot hold up Stop() beyond the flush timeout,
// and it then sees the connection lost, by name.
class Stuck : public Recorder {
 public:
  void OnReceive(NodeId from, std::span<const uint8_t> payload, PageBuffer page) override {
    release_.wait();
    Recorder::OnReceive(from, payload, std::move(page));
  }
  std::promise<void> release;

 private:
  std::shared_future<void> release_ = release.get_future().share();
};

TEST(TcpTransport, StopDoesNotWaitForAPeerThatDoesNotRead) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].flush_timeout = 200ms;
  Recorder r0;  // outlive the transports that call them
  Stuck r1;
  auto t = ConnectAll(configs, std::move(listeners));
  auto& t0 = t[0];
  auto& t1 = t[1];
  t0->SetHandler(Channel::kCoherence, &r0);
  t1->SetHandler(Channel::kCoherence, &r1);
  t0->Start();
  t1->Start();
  for (int k = 0; k < 10000; ++k) {  // 40 MiB
    t0->Send(1, Channel::kCoherence, Number(k), PageNumbered(t0->pages(), k));
  }
  t0->Stop();  // returns: the unsent rest is dropped
  r1.release.set_value();
  ASSERT_TRUE(r1.WaitLost());
  EXPECT_EQ(r1.lost_[0].first, 0u);
  EXPECT_THAT(r1.lost_[0].second, HasSubstr("node 0 (127.0.0.1:"));
  EXPECT_LT(r1.got_.size(), 10000u);
  t1->Stop();
}

}  // namespace
}  // namespace ssivm::cluster

// Real TCP connections on loopback between transports in one process.
#include "dsm/transport/tcp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstring>
#include <future>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::dsm {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class Recorder : public TransportHandler {
 public:
  void OnMessage(NodeId from, Message m) override {
    std::lock_guard<std::mutex> l(mu_);
    got_.emplace_back(from, std::move(m));
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
  std::vector<std::pair<NodeId, Message>> got_;
  std::vector<std::pair<NodeId, std::string>> lost_;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

struct Mesh {
  // Recorders outlive the transports that call them.
  std::vector<std::unique_ptr<Recorder>> recorders;
  std::vector<std::unique_ptr<TcpTransport>> transports;
};

std::vector<TcpConfig> Configs(uint32_t n, std::vector<TcpListener>& listeners) {
  std::vector<NodeAddress> nodes;
  for (uint32_t i = 0; i < n; ++i) {
    listeners.push_back(TcpListener::Listen("127.0.0.1", 0));
    nodes.push_back({i, "127.0.0.1", listeners.back().port()});
  }
  std::vector<TcpConfig> configs;
  for (uint32_t i = 0; i < n; ++i) configs.push_back({0xc1, 3, i, nodes, 20s});
  return configs;
}

Mesh Build(std::vector<TcpConfig> configs, std::vector<TcpListener> listeners) {
  std::vector<std::future<std::unique_ptr<TcpTransport>>> futures;
  for (size_t i = 0; i < configs.size(); ++i) {
    futures.push_back(std::async(std::launch::async, [&, i] {
      return TcpTransport::Connect(configs[i], std::move(listeners[i]));
    }));
  }
  Mesh m;
  for (auto& f : futures) {
    m.transports.push_back(f.get());
    m.recorders.push_back(std::make_unique<Recorder>());
    m.transports.back()->Start(m.recorders.back().get());
  }
  return m;
}

TEST(TcpTransport, FullMeshDeliversInOrder) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(4, listeners);
  Mesh m = Build(configs, std::move(listeners));
  constexpr int kPerPair = 200;
  for (NodeId from = 0; from < 4; ++from) {
    for (int k = 0; k < kPerPair; ++k) {
      for (NodeId to = 0; to < 4; ++to) {
        if (to != from) m.transports[from]->Send(to, GetShared{static_cast<PageNumber>(k)});
      }
    }
  }
  m.transports[1]->Send(2, Grant{9, Access::kWrite, DataKind::kBytes, {}});
  for (NodeId to = 0; to < 4; ++to) {
    ASSERT_TRUE(m.recorders[to]->WaitMessages(3 * kPerPair + (to == 2 ? 1 : 0))) << "node " << to;
    std::map<NodeId, PageNumber> next;
    for (const auto& [from, msg] : m.recorders[to]->got_) {
      if (const auto* g = std::get_if<GetShared>(&msg)) {
        EXPECT_EQ(g->page, next[from]++) << "reordered from " << from << " to " << to;
      }
    }
  }
  EXPECT_EQ(m.transports[0]->messages_sent(), 3u * kPerPair);
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

int RawConnect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  return fd;
}

TEST(TcpTransport, GarbageInsteadOfAHandshakeIsRejected) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].connect_timeout = 10s;
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
    EXPECT_THAT(e.what(), HasSubstr("a connection from 127.0.0.1"));
    EXPECT_THAT(e.what(), HasSubstr("bad magic"));
  }
  ::close(fd);
}

TEST(TcpTransport, GarbageAfterTheHandshakeLosesThePeerByName) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  const uint16_t port = listeners[0].port();
  auto a = std::async(std::launch::async,
                      [&] { return TcpTransport::Connect(configs[0], std::move(listeners[0])); });
  const int fd = RawConnect(port);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> hello;
  Encode(1, Hello{0xc1, kProtocolVersion, 1, 3}, hello);
  ASSERT_EQ(::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(hello.size()));
  std::unique_ptr<TcpTransport> t = a.get();
  Recorder r;
  t->Start(&r);
  std::vector<uint8_t> frame;
  Encode(1, GetShared{1}, frame);
  frame[5] = 200;  // an unknown message type
  ASSERT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(frame.size()));
  ASSERT_TRUE(r.WaitLost());
  EXPECT_EQ(r.lost_[0].first, 1u);
  EXPECT_THAT(r.lost_[0].second, HasSubstr("node 1 (127.0.0.1:"));
  EXPECT_THAT(r.lost_[0].second, HasSubstr("unknown message type 200"));
  t->Stop();
  ::close(fd);
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
  m.transports[1]->Send(0, Shutdown{5, 1});
  m.transports[1]->Stop();
  ASSERT_TRUE(m.recorders[0]->WaitLost());
  for (int k = 0; k < 64; ++k) EXPECT_NO_THROW(m.transports[0]->Send(1, Shutdown{0, 0}));
  ASSERT_TRUE(m.recorders[0]->WaitMessages(1));
  const auto* s = std::get_if<Shutdown>(&m.recorders[0]->got_.front().second);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->status, 5);
  m.transports[0]->Stop();
  EXPECT_THROW(m.transports[0]->Send(1, Shutdown{0, 0}), Error);
}

// Every node answers a kick by sending `count` page-sized messages back from

// inside its receive callback, holding its own lock (as the fault engine
// does), and checks that what it receives arrives whole and in order.
class PageFlood : public TransportHandler {
 public:
  PageFlood(Transport*& transport, uint64_t count) : transport_(transport), count_(count) {}
  void OnMessage(NodeId from, Message m) override {
    std::lock_guard<std::mutex> l(mu_);
    if (std::holds_alternative<GetShared>(m)) {
      for (uint64_t k = 0; k < count_; ++k) transport_->Send(from, Page(k));
    } else if (const auto* wb = std::get_if<WriteBack>(&m)) {
      if (wb->page != next_ || wb->data != Page(wb->page).data) ++bad_;
      ++next_;
    }
    cv_.notify_all();
  }
  void OnPeerLost(NodeId, const std::string& reason) override {
    std::lock_guard<std::mutex> l(mu_);
    lost_ = reason;
    cv_.notify_all();
  }
  static WriteBack Page(uint64_t k) {
    WriteBack wb{k, false, {}};
    for (size_t i = 0; i < wb.data.size(); i += 8) std::memcpy(&wb.data[i], &k, 8);
    wb.data[k % wb.data.size()] ^= 0xa5;
    return wb;
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
  auto transports = [] {
    std::vector<TcpListener> listeners;
    auto configs = Configs(2, listeners);
    std::vector<std::future<std::unique_ptr<TcpTransport>>> f;
    for (size_t i = 0; i < 2; ++i) {
      f.push_back(std::async(std::launch::async, [&, i] {
        return TcpTransport::Connect(configs[i], std::move(listeners[i]));
      }));
    }
    std::vector<std::unique_ptr<TcpTransport>> out;
    for (auto& x : f) out.push_back(x.get());
    return out;
  }();
  Transport* raw[2] = {transports[0].get(), transports[1].get()};
  PageFlood flood0(raw[0], kPages), flood1(raw[1], kPages);
  transports[0]->Start(&flood0);
  transports[1]->Start(&flood1);
  transports[0]->Send(1, GetShared{0});
  transports[1]->Send(0, GetShared{0});
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
  for (int k = 0; k < kPages; ++k) m.transports[0]->Send(1, PageFlood::Page(k));
  m.transports[0]->Send(1, Shutdown{7, 0});
  m.transports[0]->Stop();
  ASSERT_TRUE(m.recorders[1]->WaitMessages(kPages + 1));
  const auto* s = std::get_if<Shutdown>(&m.recorders[1]->got_.back().second);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->status, 7);
  EXPECT_THROW(m.transports[0]->Send(1, Shutdown{0, 0}), Error);
}

// A peer that stops reading cannot hold up Stop() beyond the flush timeout,
// and it then sees the connection lost, by name.
class Stuck : public Recorder {
 public:
  void OnMessage(NodeId from, Message m) override {
    release_.wait();
    Recorder::OnMessage(from, std::move(m));
  }
  std::promise<void> release;

 private:
  std::shared_future<void> release_ = release.get_future().share();
};

TEST(TcpTransport, StopDoesNotWaitForAPeerThatDoesNotRead) {
  std::vector<TcpListener> listeners;
  auto configs = Configs(2, listeners);
  configs[0].flush_timeout = 200ms;
  std::vector<std::future<std::unique_ptr<TcpTransport>>> f;
  for (size_t i = 0; i < 2; ++i) {
    f.push_back(std::async(std::launch::async, [&, i] {
      return TcpTransport::Connect(configs[i], std::move(listeners[i]));
    }));
  }
  auto t0 = f[0].get();
  auto t1 = f[1].get();
  Recorder r0;
  Stuck r1;
  t0->Start(&r0);
  t1->Start(&r1);
  for (int k = 0; k < 10000; ++k) t0->Send(1, PageFlood::Page(k));  // 40 MiB
  t0->Stop();  // returns: the unsent rest is dropped
  r1.release.set_value();
  ASSERT_TRUE(r1.WaitLost());
  EXPECT_EQ(r1.lost_[0].first, 0u);
  EXPECT_THAT(r1.lost_[0].second, HasSubstr("node 0 (127.0.0.1:"));
  EXPECT_LT(r1.got_.size(), 10000u);
  t1->Stop();
}

}  // namespace
}  // namespace ssivm::dsm

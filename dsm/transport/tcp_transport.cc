#include "dsm/transport/tcp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::dsm {
namespace {

using Clock = std::chrono::steady_clock;

void WriteAll(int fd, const uint8_t* p, size_t n, const std::string& peer) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ThrowErrno(fmt::format("send to {}", peer));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Blocking read of exactly n bytes before the deadline (used for handshakes).
void ReadExact(int fd, uint8_t* p, size_t n, Clock::time_point deadline, const std::string& peer) {
  while (n > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw Error(fmt::format("{}: no handshake before the timeout", peer));
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) ThrowErrno(fmt::format("receive from {}", peer));
    if (r == 0) throw Error(fmt::format("{} closed the connection during the handshake", peer));
    p += r;
    n -= static_cast<size_t>(r);
  }
}

// Writes every frame of `batch` (the first from byte `offset` on) with as few
// blocking sendmsg calls as the socket allows. Returns "" or the error.
std::string WriteBatch(int fd, const std::deque<std::vector<uint8_t>>& batch, size_t offset,
                       std::atomic<uint64_t>& writes) {
  size_t frame = 0;
  while (frame < batch.size()) {
    iovec iov[64];
    int n = 0;
    for (size_t f = frame; f < batch.size() && n < 64; ++f, ++n) {
      const size_t skip = f == frame ? offset : 0;
      iov[n].iov_base = const_cast<uint8_t*>(batch[f].data() + skip);
      iov[n].iov_len = batch[f].size() - skip;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    writes.fetch_add(1, std::memory_order_relaxed);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return ErrnoText(w < 0 ? errno : EPIPE);
    // Advance past what went out, possibly ending inside a frame.
    while (w > 0) {
      const size_t left = batch[frame].size() - offset;
      if (static_cast<size_t>(w) < left) {
        offset += static_cast<size_t>(w);
        break;
      }
      w -= static_cast<ssize_t>(left);
      ++frame;
      offset = 0;
    }
  }
  return "";
}

Hello MyHello(const TcpConfig& c) {
  return Hello{c.cluster_id, kProtocolVersion, c.self, c.epoch};
}

// Sends our Hello, reads theirs, and checks everything but the node id.
Hello Handshake(int fd, const TcpConfig& config, const std::string& peer,
                Clock::time_point deadline) {
  std::vector<uint8_t> out;
  Encode(config.self, MyHello(config), out);
  WriteAll(fd, out.data(), out.size(), peer);
  std::vector<uint8_t> frame(kHeaderSize);
  ReadExact(fd, frame.data(), kHeaderSize, deadline, peer);
  try {
    const uint32_t payload =
        PayloadSize(std::span<const uint8_t, kHeaderSize>(frame.data(), kHeaderSize));
    frame.resize(kHeaderSize + payload);
    ReadExact(fd, frame.data() + kHeaderSize, payload, deadline, peer);
    const Frame f = Decode(frame);
    const auto* h = std::get_if<Hello>(&f.message);
    if (h == nullptr) throw Error(fmt::format("sent {} instead of Hello", MessageName(f.message)));
    if (h->protocol_version != kProtocolVersion) {
      throw Error(
          fmt::format("speaks protocol {}, this node {}", h->protocol_version, kProtocolVersion));
    }
    if (h->cluster_id != config.cluster_id) {
      throw Error(fmt::format("belongs to cluster {:#x}, this node to cluster {:#x}", h->cluster_id,
                              config.cluster_id));
    }
    if (h->epoch != config.epoch) {
      throw Error(fmt::format("has manifest epoch {}, this node {}", h->epoch, config.epoch));
    }
    if (f.sender != h->node_id) throw Error("frame sender and Hello node id differ");
    return *h;
  } catch (const Error& e) {
    throw Error(fmt::format("handshake with {} failed: {}", peer, e.what()));
  }
}

}  // namespace

sockaddr_in ToSockaddr(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    throw Error(fmt::format("'{}' is not an IPv4 address", host));
  }
  return a;
}

void SetNoDelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

std::string NodeAddress::Describe() const {
  return fmt::format("node {} ({}:{})", id, host, port);
}

TcpListener TcpListener::Listen(const std::string& host, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) ThrowErrno("socket");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = ToSockaddr(host, port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ThrowErrno(fmt::format("bind {}:{}", host, port));
  }
  if (::listen(fd.get(), 64) != 0) ThrowErrno(fmt::format("listen on {}:{}", host, port));
  socklen_t len = sizeof(a);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return TcpListener(std::move(fd), ntohs(a.sin_port));
}

std::unique_ptr<TcpTransport> TcpTransport::Connect(const TcpConfig& config, TcpListener listener) {
  std::unique_ptr<TcpTransport> t(new TcpTransport(config));
  const auto deadline = Clock::now() + config.connect_timeout;
  std::map<NodeId, const NodeAddress*> members;
  for (const NodeAddress& n : config.nodes) {
    if (!members.emplace(n.id, &n).second)
      throw Error(fmt::format("node {} is listed twice", n.id));
  }
  if (!members.count(config.self)) throw Error(fmt::format("node {} is not a member", config.self));

  // Dial every lower id; they may not be listening yet.
  for (const auto& [id, addr] : members) {
    if (id >= config.self) continue;
    const std::string who = addr->Describe();
    const sockaddr_in a = ToSockaddr(addr->host, addr->port);
    UniqueFd fd;
    for (;;) {
      fd.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) break;
      if (Clock::now() > deadline) ThrowErrno(fmt::format("cannot connect to {}", who));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    SetNoDelay(fd.get());
    const Hello h = Handshake(fd.get(), config, who, deadline);
    if (h.node_id != id) {
      throw Error(fmt::format("handshake with {} failed: it says it is node {}", who, h.node_id));
    }
    auto peer = std::make_unique<Peer>();
    peer->address = *addr;
    peer->fd = std::move(fd);
    t->peers_.emplace(id, std::move(peer));
  }
  // Accept every higher id.
  std::set<NodeId> waiting;
  for (const auto& [id, addr] : members) {
    if (id > config.self) waiting.insert(id);
  }
  while (!waiting.empty()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{listener.fd(), POLLIN, 0};
    if (left.count() <= 0 ||
        ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) == 0) {
      std::string missing;
      for (NodeId id : waiting) missing += " " + members[id]->Describe();
      throw Error(
          fmt::format("node {}: these peers did not connect in time:{}", config.self, missing));
    }
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    UniqueFd fd(::accept4(listener.fd(), reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
    const std::string who = fmt::format("a connection from {}:{}", ip, ntohs(from.sin_port));
    SetNoDelay(fd.get());
    const Hello h = Handshake(fd.get(), config, who, deadline);
    if (!waiting.count(h.node_id)) {
      throw Error(
          fmt::format("handshake with {} failed: node {} is not expected to connect to node {}",
                      who, h.node_id, config.self));
    }
    waiting.erase(h.node_id);
    auto peer = std::make_unique<Peer>();
    peer->address = *members[h.node_id];
    peer->fd = std::move(fd);
    t->peers_.emplace(h.node_id, std::move(peer));
  }
  t->StartSenders();
  return t;
}

TcpTransport::~TcpTransport() {
  Stop();
}

void TcpTransport::Start(TransportHandler* handler) {
  handler_ = handler;
  epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_.valid() || !wake_.valid()) ThrowErrno("epoll/eventfd for the transport");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = UINT64_MAX;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  for (auto& [id, peer] : peers_) {
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, peer->fd.get(), &ev) != 0) ThrowErrno("epoll_ctl");
  }
  thread_ = std::thread([this] { ReceiveLoop(); });
}

// ---- Sending ----------------------------------------------------------------
//
// Callers send while holding locks (the fault engine sends under its own
// lock, on the receive thread among others), so a Send that blocked on a full
// socket could deadlock two nodes that both send faster than the other
// reads. Send therefore never blocks on the network: with the peer's queue
// empty it writes what the socket takes at once (MSG_DONTWAIT: the common,
// lowest-latency case needs no thread hop) and queues the rest; otherwise it
// only appends to the queue. One sender thread per peer drains the queue with
// blocking sendmsg calls, taking every queued frame in one gather write.
//
// Why a thread per peer rather than non-blocking sockets and an epoll-driven
// out-queue: the receive thread then never writes, a peer that stops reading
// stalls only its own thread, the code stays small, and N ≤ 64. An RDMA
// transport would post sends to its own queue pair instead; the Transport
// interface (Send never blocks, per-peer FIFO) stays the same.
//
// Order: frames enter a peer's queue under its out_mu in Send order, an inline
// write happens only when nothing is queued or being written, and the sender
// writes whole batches in queue order, so each peer receives in Send order
// (the coherence protocol needs FIFO channels).

void TcpTransport::StartSenders() {
  for (auto& [id, peer] : peers_) {
    Peer* p = peer.get();
    p->sender = std::thread([this, p] { SenderLoop(*p); });
  }
}

void TcpTransport::Send(NodeId to, const Message& message) {
  const auto it = peers_.find(to);
  if (it == peers_.end())
    throw Error(fmt::format("node {} is not a peer of node {}", to, config_.self));
  Peer& peer = *it->second;
  std::vector<uint8_t> out;
  Encode(config_.self, message, out);
  std::lock_guard<std::mutex> lock(peer.out_mu);
  if (peer.stopped) {
    throw Error(fmt::format("send {} to {}: {}", MessageName(message), peer.address.Describe(),
                            peer.send_error));
  }
  // The connection broke: the peer closed or died. Its receive side reports
  // the loss, after what the peer sent before it (a Shutdown, say), so a
  // send racing with a peer's orderly stop does not read as losing it.
  if (!peer.send_error.empty()) return;
  size_t written = 0;
  if (peer.queue.empty() && !peer.writing) {
    for (;;) {
      const ssize_t w = ::send(peer.fd.get(), out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      writes_.fetch_add(1, std::memory_order_relaxed);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno != EAGAIN) {
        peer.send_error = ErrnoText(errno);
        return;  // as above
      }
      written = w < 0 ? 0 : static_cast<size_t>(w);
      break;
    }
    if (written == out.size()) {
      sent_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if (peer.queued_bytes + out.size() > config_.max_queued_bytes) {
    throw Error(fmt::format("send {} to {}: {} MiB are queued and unsent; the peer is not reading",
                            MessageName(message), peer.address.Describe(),
                            peer.queued_bytes >> 20));
  }
  if (peer.queue.empty()) peer.head_offset = written;
  peer.queued_bytes += out.size();
  peer.queue.push_back(std::move(out));
  sent_.fetch_add(1, std::memory_order_relaxed);
  peer.out_cv.notify_all();
}

void TcpTransport::SenderLoop(Peer& peer) {
  std::unique_lock<std::mutex> lock(peer.out_mu);
  for (;;) {
    peer.out_cv.wait(lock, [&] { return !peer.queue.empty() || peer.stopping; });
    if (peer.queue.empty()) return;  // stopping, and everything went out
    std::deque<std::vector<uint8_t>> batch;
    batch.swap(peer.queue);
    const size_t offset = std::exchange(peer.head_offset, 0);
    peer.writing = true;
    lock.unlock();
    const std::string error = WriteBatch(peer.fd.get(), batch, offset, writes_);
    lock.lock();
    peer.writing = false;
    for (const auto& f : batch) peer.queued_bytes -= f.size();
    if (!error.empty() && peer.send_error.empty()) {
      // The receive side reports the loss (the peer closed or died); later
      // Sends to it fail with this.
      peer.send_error = error;
    }
    if (!peer.send_error.empty()) {
      peer.queue.clear();
      peer.queued_bytes = 0;
    }
    peer.out_cv.notify_all();  // Stop() waits for an empty queue
  }
}

void TcpTransport::StopSenders() {
  const auto deadline = Clock::now() + config_.flush_timeout;
  for (auto& [id, peer] : peers_) {
    std::lock_guard<std::mutex> lock(peer->out_mu);
    peer->stopping = true;
    peer->out_cv.notify_all();
  }
  // Let queued messages (a Shutdown, say) go out, but never wait for a peer
  // that does not read: shutting the socket down fails its blocked sendmsg.
  for (auto& entry : peers_) {
    // Not a structured binding: clang (before 16) cannot capture one.
    auto& p = *entry.second;
    std::unique_lock<std::mutex> lock(p.out_mu);
    p.out_cv.wait_until(lock, deadline, [&p] {
      return (p.queue.empty() && !p.writing) || !p.send_error.empty();
    });
  }
  for (auto& [id, peer] : peers_) {
    if (peer->fd.valid()) ::shutdown(peer->fd.get(), SHUT_RDWR);
  }
  for (auto& [id, peer] : peers_) {
    if (peer->sender.joinable()) peer->sender.join();
    std::lock_guard<std::mutex> lock(peer->out_mu);
    if (peer->send_error.empty()) peer->send_error = "the transport is stopped";
    peer->stopped = true;
  }
}

void TcpTransport::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
    thread_.join();
  }
  StopSenders();
}

void TcpTransport::ReceiveLoop() {
  epoll_event events[16];
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == UINT64_MAX) return;
      Peer& peer = *peers_.at(static_cast<NodeId>(events[i].data.u64));
      if (!peer.lost && !ReadFrom(peer)) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, peer.fd.get(), nullptr);
      }
    }
  }
}

bool TcpTransport::ReadFrom(Peer& peer) {
  uint8_t buf[64 * 1024];
  const ssize_t r = ::recv(peer.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (r <= 0) {
    Lose(peer, r == 0 ? "closed the connection" : "connection failed: " + ErrnoText(errno));
    return false;
  }
  peer.inbox.insert(peer.inbox.end(), buf, buf + r);
  size_t used = 0;
  try {
    while (peer.inbox.size() - used >= kHeaderSize) {
      const uint8_t* head = peer.inbox.data() + used;
      const uint32_t payload =
          PayloadSize(std::span<const uint8_t, kHeaderSize>(head, kHeaderSize));
      if (peer.inbox.size() - used < kHeaderSize + payload) break;
      Frame f = Decode({head, kHeaderSize + payload});
      used += kHeaderSize + payload;
      if (f.sender != peer.address.id) {
        throw Error(fmt::format("claims to be node {}", f.sender));
      }
      if (std::holds_alternative<Hello>(f.message)) throw Error("sent a second Hello");
      received_.fetch_add(1, std::memory_order_relaxed);
      handler_->OnMessage(peer.address.id, std::move(f.message));
    }
  } catch (const Error& e) {
    Lose(peer, fmt::format("sent a bad message: {}", e.what()));
    return false;
  }
  peer.inbox.erase(peer.inbox.begin(), peer.inbox.begin() + static_cast<ptrdiff_t>(used));
  return true;
}

void TcpTransport::Lose(Peer& peer, const std::string& reason) {
  peer.lost = true;
  handler_->OnPeerLost(peer.address.id, fmt::format("{} {}", peer.address.Describe(), reason));
}

}  // namespace ssivm::dsm

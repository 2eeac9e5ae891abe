#include "cluster/transport/tcp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <set>
#include <span>
#include <utility>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::cluster {
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

// The iovecs of `frames` from byte `offset` of the first on (at most `max`).
template <class Frames>
int Gather(const Frames& frames, size_t first, size_t offset, iovec* iov, int max) {
  int n = 0;
  for (size_t f = first; f < frames.size() && n + 2 <= max; ++f) {
    size_t skip = f == first ? offset : 0;
    const auto& frame = frames[f];
    if (skip < frame.head.size()) {
      iov[n++] = {const_cast<uint8_t*>(frame.head.data() + skip), frame.head.size() - skip};
      skip = 0;
    } else {
      skip -= frame.head.size();
    }
    if (frame.page) {
      iov[n++] = {const_cast<uint8_t*>(frame.page.data() + skip), abi::kPageSize - skip};
    }
  }
  return n;
}

// Writes every frame of `batch` (the first from byte `offset` on) with as few
// blocking sendmsg calls as the socket allows; pages go out from their
// buffers. Returns "" or the error.
template <class Frames>
std::string WriteBatch(int fd, const Frames& batch, size_t offset, std::atomic<uint64_t>& writes) {
  size_t frame = 0;
  while (frame < batch.size()) {
    iovec iov[64];
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(Gather(batch, frame, offset, iov, 64));
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

Hello MyHello(const TransportConfig& c) {
  return Hello{c.cluster_id, kProtocolVersion, c.self, c.epoch};
}

// Sends our Hello, reads theirs, and checks everything but the node id.
Hello Handshake(int fd, const TransportConfig& config, const std::string& peer,
                Clock::time_point deadline) {
  const std::vector<uint8_t> out = EncodeHello(MyHello(config));
  WriteAll(fd, out.data(), out.size(), peer);
  std::array<uint8_t, kFrameHeaderSize> header{};
  ReadExact(fd, header.data(), header.size(), deadline, peer);
  try {
    const FrameHeader f = DecodeFrameHeader(header);
    if (f.channel != Channel::kHandshake || f.has_page) {
      throw Error(fmt::format("sent a {} frame instead of Hello", ChannelName(f.channel)));
    }
    std::vector<uint8_t> payload(f.payload);
    ReadExact(fd, payload.data(), payload.size(), deadline, peer);
    const Hello h = DecodeHello(payload);
    if (h.protocol_version != kProtocolVersion) {
      throw Error(
          fmt::format("speaks protocol {}, this node {}", h.protocol_version, kProtocolVersion));
    }
    if (h.cluster_id != config.cluster_id) {
      throw Error(fmt::format("belongs to cluster {:#x}, this node to cluster {:#x}", h.cluster_id,
                              config.cluster_id));
    }
    if (h.epoch != config.epoch) {
      throw Error(fmt::format("has manifest epoch {}, this node {}", h.epoch, config.epoch));
    }
    if (f.sender != h.node_id) throw Error("frame sender and Hello node id differ");
    return h;
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

std::unique_ptr<TcpTransport> TcpTransport::Connect(const TransportConfig& config,
                                                    TcpListener listener) {
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

void TcpTransport::SetHandler(Channel channel, ChannelHandler* handler) {
  if (channel == Channel::kHandshake) throw Error("the handshake channel is the transport's own");
  handlers_[static_cast<size_t>(channel)] = handler;
}

void TcpTransport::Start() {
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

void TcpTransport::Send(NodeId to, Channel channel, std::span<const uint8_t> payload,
                        const PageBuffer& page) {
  const auto it = peers_.find(to);
  if (it == peers_.end())
    throw Error(fmt::format("node {} is not a peer of node {}", to, config_.self));
  if (payload.size() > kMaxFramePayload) {
    throw Error(fmt::format("a {}-byte {} message is larger than a frame takes", payload.size(),
                            ChannelName(channel)));
  }
  Peer& peer = *it->second;
  OutFrame out;
  out.head.reserve(kFrameHeaderSize + payload.size());
  EncodeFrameHeader(
      {channel, static_cast<bool>(page), static_cast<uint32_t>(payload.size()), config_.self},
      out.head);
  out.head.insert(out.head.end(), payload.begin(), payload.end());
  out.page = page;
  std::lock_guard<std::mutex> lock(peer.out_mu);
  if (peer.stopped) {
    throw Error(fmt::format("send a {} message to {}: {}", ChannelName(channel),
                            peer.address.Describe(), peer.send_error));
  }
  // The connection broke: the peer closed or died. Its receive side reports
  // the loss, after what the peer sent before it (a Shutdown, say), so a
  // send racing with a peer's orderly stop does not read as losing it.
  if (!peer.send_error.empty()) return;
  size_t written = 0;
  if (peer.queue.empty() && !peer.writing) {
    for (;;) {
      iovec iov[2];
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(Gather(std::span(&out, 1), 0, 0, iov, 2));
      const ssize_t w = ::sendmsg(peer.fd.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
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
    throw Error(
        fmt::format("send a {} message to {}: {} MiB are queued and unsent; the peer is "
                    "not reading",
                    ChannelName(channel), peer.address.Describe(), peer.queued_bytes >> 20));
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
    std::deque<OutFrame> batch;
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
    p.out_cv.wait_until(lock, deadline,
                        [&p] { return (p.queue.empty() && !p.writing) || !p.send_error.empty(); });
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

// A frame is read in stages (header, payload, page), each recv asking for
// no more than the stage needs: a page then lands in its buffer straight from
// the socket, never in an intermediate buffer. At most kFramesPerWake frames
// per call, so one busy peer cannot starve the others.
bool TcpTransport::ReadFrom(Peer& peer) {
  constexpr int kFramesPerWake = 64;
  Inbound& in = peer.in;
  try {
    for (int frames = 0; frames < kFramesPerWake;) {
      uint8_t* into = nullptr;
      size_t want = 0;
      switch (in.stage) {
        case Inbound::Stage::kHeader:
          into = in.header.data();
          want = in.header.size();
          break;
        case Inbound::Stage::kPayload:
          into = in.payload.data();
          want = in.payload.size();
          break;
        case Inbound::Stage::kPage:
          into = in.page.mutable_data();
          want = abi::kPageSize;
          break;
      }
      if (in.got < want) {
        const ssize_t r = ::recv(peer.fd.get(), into + in.got, want - in.got, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) return true;
        if (r <= 0) {
          Lose(peer, r == 0 ? "closed the connection" : "connection failed: " + ErrnoText(errno));
          return false;
        }
        in.got += static_cast<size_t>(r);
        if (in.got < want) continue;
      }
      in.got = 0;
      switch (in.stage) {
        case Inbound::Stage::kHeader:
          in.frame = DecodeFrameHeader(in.header);
          if (in.frame.sender != peer.address.id) {
            throw Error(fmt::format("claims to be node {}", in.frame.sender));
          }
          if (in.frame.channel == Channel::kHandshake) throw Error("sent a second Hello");
          in.payload.resize(in.frame.payload);
          in.stage = Inbound::Stage::kPayload;
          break;
        case Inbound::Stage::kPayload:
          if (in.frame.has_page) {
            in.page = pages_.Allocate();
            in.stage = Inbound::Stage::kPage;
            break;
          }
          Deliver(peer);
          ++frames;
          break;
        case Inbound::Stage::kPage:
          in.page.CountCopy();  // from the socket into its buffer: the one copy
          Deliver(peer);
          ++frames;
          break;
      }
    }
  } catch (const Error& e) {
    Lose(peer, fmt::format("sent a bad message: {}", e.what()));
    return false;
  }
  return true;
}

void TcpTransport::Deliver(Peer& peer) {
  Inbound& in = peer.in;
  in.stage = Inbound::Stage::kHeader;
  ChannelHandler* h = handlers_[static_cast<size_t>(in.frame.channel)];
  if (h == nullptr) {
    throw Error(fmt::format("sent a {} message, a channel this node does not serve",
                            ChannelName(in.frame.channel)));
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  h->OnReceive(peer.address.id, in.payload, std::move(in.page));
  in.page = PageBuffer();
}

void TcpTransport::Lose(Peer& peer, const std::string& reason) {
  peer.lost = true;
  const std::string why = fmt::format("{} {}", peer.address.Describe(), reason);
  for (ChannelHandler* h : handlers_) {
    if (h != nullptr) h->OnPeerLost(peer.address.id, why);
  }
}

}  // namespace ssivm::cluster

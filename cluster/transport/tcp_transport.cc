#include "cluster/transport/tcp_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
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
#include <optional>
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

// Reads one handshake frame before the deadline: nullopt if the peer closed
// the connection before its first byte (it has not admitted this node).
std::optional<std::pair<FrameHeader, Hello>> ReadHello(int fd, Clock::time_point deadline,
                                                       const std::string& peer) {
  std::array<uint8_t, kFrameHeaderSize> header{};
  {
    // The first byte alone: a close before it is a refusal, not an error.
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) throw Error(fmt::format("{}: no handshake before the timeout", peer));
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t r = ::recv(fd, header.data(), 1, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == ECONNRESET || errno == EPIPE)) return std::nullopt;
      if (r < 0) ThrowErrno(fmt::format("receive from {}", peer));
      if (r == 0) return std::nullopt;
      break;
    }
  }
  ReadExact(fd, header.data() + 1, header.size() - 1, deadline, peer);
  const FrameHeader f = DecodeFrameHeader(header);
  if (f.channel != Channel::kHandshake || f.has_page) {
    throw Error(fmt::format("sent a {} frame instead of Hello", ChannelName(f.channel)));
  }
  std::vector<uint8_t> payload(f.payload);
  ReadExact(fd, payload.data(), payload.size(), deadline, peer);
  return std::make_pair(f, DecodeHello(payload));
}

// Everything about a peer's Hello but whether this node expects its id.
void CheckHello(const FrameHeader& f, const Hello& h, uint64_t cluster_id, uint64_t epoch) {
  if (h.protocol_version != kProtocolVersion) {
    throw Error(
        fmt::format("speaks protocol {}, this node {}", h.protocol_version, kProtocolVersion));
  }
  if (h.cluster_id != cluster_id) {
    throw Error(fmt::format("belongs to cluster {:#x}, this node to cluster {:#x}", h.cluster_id,
                            cluster_id));
  }
  if (h.epoch != epoch) {
    throw Error(fmt::format("has manifest epoch {}, this node {}", h.epoch, epoch));
  }
  if (f.sender != h.node_id) throw Error("frame sender and Hello node id differ");
}

std::string Describe(const sockaddr_in& from) {
  char ip[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
  return fmt::format("a connection from {}:{}", ip, ntohs(from.sin_port));
}

// Dials `addr` and passes the handshake (this node's Hello first), retrying
// while it does not listen or closes without a Hello (it has not admitted
// this node yet), until the deadline. A Hello that does not match throws.
UniqueFd Dial(const NodeAddress& addr, const Hello& mine, uint64_t cluster_id,
              Clock::time_point deadline) {
  const std::string who = addr.Describe();
  const sockaddr_in a = ToSockaddr(addr.host, addr.port);
  const std::vector<uint8_t> hello = EncodeHello(mine);
  std::string failure;
  for (;; std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    if (Clock::now() > deadline) {
      throw Error(fmt::format("node {} cannot join {}: {}", mine.node_id, who, failure));
    }
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
      failure = "cannot connect: " + ErrnoText(errno);
      continue;
    }
    SetNoDelay(fd.get());
    if (::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(hello.size())) {
      failure = "it closed the connection before the handshake";
      continue;
    }
    try {
      const auto got = ReadHello(fd.get(), deadline, who);
      if (!got) {
        failure = "it closed the connection without a Hello (it has not admitted this node)";
        continue;
      }
      CheckHello(got->first, got->second, cluster_id, mine.epoch);
      if (got->second.node_id != addr.id) {
        throw Error(fmt::format("it says it is node {}", got->second.node_id));
      }
    } catch (const Error& e) {
      throw Error(fmt::format("handshake with {} failed: {}", who, e.what()));
    }
    return fd;
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
  // Non-blocking: the receive thread accepts until there is nothing left.
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
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
  return {std::move(fd), ntohs(a.sin_port)};
}

std::unique_ptr<TcpTransport> TcpTransport::Connect(const TransportConfig& config,
                                                    TcpListener listener) {
  std::map<NodeId, const NodeAddress*> members;
  for (const NodeAddress& n : config.nodes) {
    if (!members.emplace(n.id, &n).second)
      throw Error(fmt::format("node {} is listed twice", n.id));
  }
  if (!members.count(config.self)) throw Error(fmt::format("node {} is not a member", config.self));
  std::unique_ptr<TcpTransport> t(new TcpTransport(config, std::move(listener)));
  const auto deadline = Clock::now() + config.connect_timeout;
  const Hello mine{config.cluster_id, kProtocolVersion, config.self, config.epoch};

  // Dial every lower id; they may not be listening yet.
  for (const auto& [id, addr] : members) {
    if (id < config.self) t->AddConnected(*addr, Dial(*addr, mine, config.cluster_id, deadline));
  }
  // Accept every higher id: this node's Hello first, then theirs.
  std::set<NodeId> waiting;
  for (const auto& [id, addr] : members) {
    if (id > config.self) waiting.insert(id);
  }
  const std::vector<uint8_t> hello = EncodeHello(mine);
  while (!waiting.empty()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{t->listener_.fd(), POLLIN, 0};
    if (left.count() <= 0 ||
        ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) == 0) {
      std::string missing;
      for (NodeId id : waiting) missing += " " + members[id]->Describe();
      throw Error(
          fmt::format("node {}: these peers did not connect in time:{}", config.self, missing));
    }
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    UniqueFd fd(
        ::accept4(t->listener_.fd(), reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    const std::string who = Describe(from);
    SetNoDelay(fd.get());
    try {
      WriteAll(fd.get(), hello.data(), hello.size(), who);
      const auto got = ReadHello(fd.get(), deadline, who);
      if (!got) throw Error("closed the connection during the handshake");
      CheckHello(got->first, got->second, config.cluster_id, config.epoch);
      const NodeId id = got->second.node_id;
      if (!waiting.count(id)) {
        throw Error(fmt::format("node {} is not expected to connect to node {}", id, config.self));
      }
      waiting.erase(id);
      t->AddConnected(*members[id], std::move(fd));
    } catch (const Error& e) {
      throw Error(fmt::format("handshake with {} failed: {}", who, e.what()));
    }
  }
  return t;
}

TcpTransport::TcpTransport(const TransportConfig& config, TcpListener listener)
    : config_(config),
      listener_(std::move(listener)),
      epoch_(config.epoch),
      spare_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

TcpTransport::~TcpTransport() {
  Stop();
}

std::shared_ptr<TcpTransport::Peer> TcpTransport::FindPeer(NodeId id) const {
  std::shared_lock<std::shared_mutex> lock(peers_mu_);
  const auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second;
}

// A connection that passed its handshake becomes a peer: its sender starts,
// and (once receiving) the receive thread watches it.
void TcpTransport::AddConnected(const NodeAddress& address, UniqueFd fd) {
  auto peer = std::make_shared<Peer>();
  peer->address = address;
  peer->fd = std::move(fd);
  {
    std::unique_lock<std::shared_mutex> lock(peers_mu_);
    if (!peers_.emplace(address.id, peer).second) {
      throw Error(fmt::format("{} is a peer already", address.Describe()));
    }
  }
  StartSender(peer);
  if (epoll_.valid()) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = address.id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, peer->fd.get(), &ev) != 0) {
      const int err = errno;
      {
        std::unique_lock<std::shared_mutex> lock(peers_mu_);
        peers_.erase(address.id);
      }
      StopSender(*peer, Clock::now());
      throw Error(fmt::format("watching {}: {}", address.Describe(), ErrnoText(err)));
    }
  }
}

void TcpTransport::SetHandler(Channel channel, ChannelHandler* handler) {
  if (channel == Channel::kHandshake) throw Error("the handshake channel is the transport's own");
  handlers_[static_cast<size_t>(channel)] = handler;
}

namespace {
// epoll tags: peers are tagged with their node id (< 2^32).
constexpr uint64_t kWakeTag = UINT64_MAX;
constexpr uint64_t kListenTag = UINT64_MAX - 1;
constexpr uint64_t kPendingTag = uint64_t{1} << 62;  // + token
}  // namespace

void TcpTransport::Start() {
  epoll_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_.valid() || !wake_.valid()) ThrowErrno("epoll/eventfd for the transport");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  ev.data.u64 = kListenTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.fd(), &ev) != 0) {
    ThrowErrno("watching the transport's listening socket");
  }
  std::shared_lock<std::shared_mutex> lock(peers_mu_);
  for (auto& [id, peer] : peers_) {
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, peer->fd.get(), &ev) != 0) ThrowErrno("epoll_ctl");
  }
  thread_ = std::thread([this] { ReceiveLoop(); });
}

// ---- Membership at runtime ---------------------------------------------------
//
// A node that joins runs Connect: it dials every member with a lower id and
// waits for the others (a member with a higher id dials it from AddPeer). A
// member lets a dialling joiner in only once AddPeer admitted it: the receive
// thread reads the joiner's Hello on the accepted connection without
// blocking (other connections and peers go on meanwhile), checks it, and
// answers with this node's Hello only if the node is admitted; anything else
// is closed without a Hello (the joiner retries until its timeout) and
// counted. A connection that sends nothing is closed at the connect timeout;
// at most kMaxPending handshakes wait at once.

void TcpTransport::AddPeer(const NodeAddress& peer, uint64_t epoch) {
  if (!thread_.joinable()) throw Error("AddPeer before the transport started");
  if (peer.id == config_.self || FindPeer(peer.id) != nullptr) {
    throw Error(fmt::format("{} is a peer of node {} already", peer.Describe(), config_.self));
  }
  epoch_ = epoch;
  const auto deadline = Clock::now() + config_.connect_timeout;
  if (peer.id < config_.self) {
    const Hello mine{config_.cluster_id, kProtocolVersion, config_.self, epoch};
    AddConnected(peer, Dial(peer, mine, config_.cluster_id, deadline));
    return;
  }
  std::unique_lock<std::mutex> lock(admit_mu_);
  admitted_[peer.id] = peer;
  // The receive thread takes the admission when the joiner's Hello arrives
  // and puts it back if the connection then fails.
  admit_cv_.wait_until(lock, deadline, [&] {
    return stopping_ || (admitted_.count(peer.id) == 0 && claimed_.count(peer.id) == 0);
  });
  admit_cv_.wait(lock, [&] { return claimed_.count(peer.id) == 0; });  // being connected: brief
  admitted_.erase(peer.id);
  if (!stopping_ && FindPeer(peer.id) != nullptr) return;
  throw Error(fmt::format("{} did not join node {} in time{}", peer.Describe(), config_.self,
                          last_refusal_.empty() ? "" : " (last refused: " + last_refusal_ + ")"));
}

void TcpTransport::RemovePeer(NodeId id) {
  std::shared_ptr<Peer> peer;
  {
    std::unique_lock<std::shared_mutex> lock(peers_mu_);
    const auto it = peers_.find(id);
    if (it == peers_.end()) {
      throw Error(fmt::format("node {} is not a peer of node {}", id, config_.self));
    }
    peer = std::move(it->second);
    peers_.erase(it);
  }
  peer->removed = true;
  if (epoll_.valid()) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, peer->fd.get(), nullptr);
  // After what is queued: the peer closes its side without reporting a loss.
  // Not bound by the queue's cap: the Goodbye must go, the sender must stop.
  OutFrame goodbye;
  goodbye.head = EncodeGoodbye(config_.self);
  const auto deadline = Clock::now() + config_.flush_timeout;
  Enqueue(*peer, std::move(goodbye), Channel::kHandshake, /*capped=*/false);
  StopSender(*peer, deadline, /*half_close=*/true);
  // Closing with unread bytes would reset the connection, and a reset can
  // overtake the Goodbye: read (and drop) until the peer closes its side.
  uint8_t scratch[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{peer->fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t r = ::recv(peer->fd.get(), scratch, sizeof(scratch), MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) break;
  }
}

uint64_t TcpTransport::connections_refused() const {
  std::lock_guard<std::mutex> lock(admit_mu_);
  return refused_;
}

std::string TcpTransport::last_refusal() const {
  std::lock_guard<std::mutex> lock(admit_mu_);
  return last_refusal_;
}

void TcpTransport::AcceptPending() {
  for (;;) {
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    UniqueFd fd(::accept4(listener_.fd(), reinterpret_cast<sockaddr*>(&from), &len,
                          SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid() && (errno == EMFILE || errno == ENFILE) && spare_.valid()) {
      // Out of descriptors: the listener stays readable, so take the
      // connection with the spare one and close it, or this loop would spin.
      spare_.Reset();
      const UniqueFd dropped(::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
      spare_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      NoteRefusal("a connection: this node has no file descriptor left");
      continue;
    }
    if (!fd.valid()) return;  // EAGAIN, or an error that the next accept shows again
    if (pending_.size() >= kMaxPending) {
      NoteRefusal(fmt::format("{}: {} handshakes wait already", Describe(from), kMaxPending));
      continue;
    }
    SetNoDelay(fd.get());
    const uint64_t token = next_token_++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kPendingTag + token;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) continue;
    Pending& p = pending_[token];
    p.fd = std::move(fd);
    p.who = Describe(from);
    p.deadline = Clock::now() + config_.connect_timeout;
  }
}

void TcpTransport::ReadPending(uint64_t token) {
  const auto it = pending_.find(token);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  Hello h{};
  try {
    switch (ReadStaged(p.fd.get(), p.in, /*handshake=*/true)) {
      case ReadResult::kAgain:
        return;
      case ReadResult::kClosed:
      case ReadResult::kFailed:
        return Refuse(token, "closed the connection during the handshake");
      case ReadResult::kFrame:
        break;
    }
    h = DecodeHello(p.in.payload);
    CheckHello(p.in.frame, h, config_.cluster_id, epoch_);
  } catch (const Error& e) {
    return Refuse(token, e.what());
  }
  std::optional<NodeAddress> address;
  {
    std::lock_guard<std::mutex> lock(admit_mu_);
    const auto a = admitted_.find(h.node_id);
    if (a != admitted_.end()) {
      address = a->second;
      admitted_.erase(a);
      claimed_.insert(h.node_id);
    }
  }
  if (!address) {
    return Refuse(token,
                  fmt::format("node {} is not admitted to node {}", h.node_id, config_.self));
  }
  // Whatever happens next, the admission is settled: taken, or given back.
  bool joined = false;
  const auto settle = [&] {
    std::lock_guard<std::mutex> lock(admit_mu_);
    claimed_.erase(h.node_id);
    if (!joined) admitted_[h.node_id] = *address;
    admit_cv_.notify_all();
  };
  const std::vector<uint8_t> mine =
      EncodeHello({config_.cluster_id, kProtocolVersion, config_.self, epoch_});
  if (::send(p.fd.get(), mine.data(), mine.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
      static_cast<ssize_t>(mine.size())) {
    settle();
    return Refuse(token, "cannot answer its Hello: " + ErrnoText(errno));
  }
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.fd.get(), nullptr);
  UniqueFd fd = std::move(p.fd);
  const std::string who = p.who;
  pending_.erase(it);
  // The sender thread writes with blocking calls; receiving never blocks.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  try {
    AddConnected(*address, std::move(fd));
    joined = true;
  } catch (const std::exception& e) {
    NoteRefusal(fmt::format("{}: {}", who, e.what()));
  }
  settle();
}

void TcpTransport::Refuse(uint64_t token, const std::string& why) {
  const auto it = pending_.find(token);
  if (it == pending_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
  NoteRefusal(fmt::format("{}: {}", it->second.who, why));
  pending_.erase(it);
}

void TcpTransport::NoteRefusal(const std::string& what) {
  std::lock_guard<std::mutex> lock(admit_mu_);
  ++refused_;
  last_refusal_ = what;
}

int TcpTransport::NextPendingTimeoutMs() {
  const auto now = Clock::now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    const uint64_t token = it->first;
    const bool expired = it->second.deadline <= now;
    ++it;
    if (expired) Refuse(token, "no handshake before the timeout");
  }
  if (pending_.empty()) return -1;
  auto first = pending_.begin()->second.deadline;
  for (const auto& [token, p] : pending_) first = std::min(first, p.deadline);
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(first - now).count() + 1);
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

void TcpTransport::StartSender(const std::shared_ptr<Peer>& peer) {
  Peer* p = peer.get();  // the thread is joined before the peer goes
  p->sender = std::thread([this, p] { SenderLoop(*p); });
}

void TcpTransport::Send(NodeId to, Channel channel, std::span<const uint8_t> payload,
                        const PageBuffer& page) {
  const std::shared_ptr<Peer> found = FindPeer(to);
  if (found == nullptr) {
    throw Error(fmt::format("node {} is not a peer of node {}", to, config_.self));
  }
  if (payload.size() > kMaxFramePayload) {
    throw Error(fmt::format("a {}-byte {} message is larger than a frame takes", payload.size(),
                            ChannelName(channel)));
  }
  if (channel == Channel::kHandshake) throw Error("the handshake channel is the transport's own");
  OutFrame out;
  out.head.reserve(kFrameHeaderSize + payload.size());
  EncodeFrameHeader(
      {channel, static_cast<bool>(page), static_cast<uint32_t>(payload.size()), config_.self},
      out.head);
  out.head.insert(out.head.end(), payload.begin(), payload.end());
  out.page = page;
  Enqueue(*found, std::move(out), channel);
}

void TcpTransport::Enqueue(Peer& peer, OutFrame out, Channel channel, bool capped) {
  std::lock_guard<std::mutex> lock(peer.out_mu);
  if (peer.stopped) {
    throw Error(fmt::format("send a {} message to {}: {}", ChannelName(channel),
                            peer.address.Describe(), peer.send_error));
  }
  // The connection broke: the peer closed or died. Its receive side reports
  // the loss, after what the peer sent before it (a Shutdown, say), so a
  // send racing with a peer's orderly stop does not read as losing it.
  if (!peer.send_error.empty()) return;
  // Before anything is written: a frame is sent whole or not at all.
  if (capped && peer.queued_bytes + out.size() > config_.max_queued_bytes) {
    throw Error(
        fmt::format("send a {} message to {}: {} MiB are queued and unsent; the peer is "
                    "not reading",
                    ChannelName(channel), peer.address.Describe(), peer.queued_bytes >> 20));
  }
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

void TcpTransport::StopSender(Peer& p, Clock::time_point deadline, bool half_close) {
  std::lock_guard<std::mutex> once(p.stop_mu);  // Stop and RemovePeer may race: one joins
  std::unique_lock<std::mutex> lock(p.out_mu);
  p.stopping = true;
  p.out_cv.notify_all();
  // Let queued frames (a Shutdown, say) go out, but never wait for a peer
  // that does not read: shutting the socket down fails its blocked sendmsg.
  p.out_cv.wait_until(lock, deadline,
                      [&p] { return (p.queue.empty() && !p.writing) || !p.send_error.empty(); });
  // From here on Sends fail: nothing is accepted that would not go out.
  if (p.send_error.empty()) p.send_error = "the transport is stopped";
  p.stopped = true;
  lock.unlock();
  if (p.fd.valid()) ::shutdown(p.fd.get(), half_close ? SHUT_WR : SHUT_RDWR);
  if (p.sender.joinable()) p.sender.join();
}

void TcpTransport::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
    thread_.join();
  }
  {
    std::lock_guard<std::mutex> lock(admit_mu_);
    stopping_ = true;
    admit_cv_.notify_all();
  }
  std::vector<std::shared_ptr<Peer>> peers;
  {
    std::shared_lock<std::shared_mutex> lock(peers_mu_);
    for (const auto& [id, peer] : peers_) peers.push_back(peer);
  }
  // Every peer's queue drains at once, within one flush timeout in all.
  const auto deadline = Clock::now() + config_.flush_timeout;
  for (const auto& peer : peers) {
    std::lock_guard<std::mutex> lock(peer->out_mu);
    peer->stopping = true;
    peer->out_cv.notify_all();
  }
  for (const auto& peer : peers) StopSender(*peer, deadline);
}

void TcpTransport::ReceiveLoop() {
  epoll_event events[16];
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events, 16, NextPendingTimeoutMs());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) return;
      if (tag == kListenTag) {
        AcceptPending();
      } else if (tag >= kPendingTag) {
        ReadPending(tag - kPendingTag);
      } else if (const std::shared_ptr<Peer> peer = FindPeer(static_cast<NodeId>(tag))) {
        if (!peer->lost && !ReadFrom(*peer)) {
          ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, peer->fd.get(), nullptr);
        }
      }
    }
  }
}

// A frame is read in stages (header, payload, page), each recv asking for
// no more than the stage needs: a page then lands in its buffer straight from
// the socket, never in an intermediate buffer.
TcpTransport::ReadResult TcpTransport::ReadStaged(int fd, Inbound& in, bool handshake) {
  for (;;) {
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
      const ssize_t r = ::recv(fd, into + in.got, want - in.got, MSG_DONTWAIT);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) return ReadResult::kAgain;
      if (r == 0) return ReadResult::kClosed;
      if (r < 0) return ReadResult::kFailed;
      in.got += static_cast<size_t>(r);
      if (in.got < want) continue;
    }
    in.got = 0;
    switch (in.stage) {
      case Inbound::Stage::kHeader:
        in.frame = DecodeFrameHeader(in.header);
        // Checked before anything is allocated for the frame.
        if (handshake && in.frame.channel != Channel::kHandshake) {
          throw Error(
              fmt::format("sent a {} frame instead of Hello", ChannelName(in.frame.channel)));
        }
        if (in.frame.channel == Channel::kHandshake && in.frame.has_page) {
          throw Error("sent a handshake frame with a page");
        }
        in.payload.resize(in.frame.payload);
        in.stage = Inbound::Stage::kPayload;
        break;
      case Inbound::Stage::kPayload:
        if (in.frame.has_page) {
          in.page = pages_.Allocate();
          in.stage = Inbound::Stage::kPage;
          break;
        }
        in.stage = Inbound::Stage::kHeader;
        return ReadResult::kFrame;
      case Inbound::Stage::kPage:
        in.page.CountCopy();  // from the socket into its buffer: the one copy
        in.stage = Inbound::Stage::kHeader;
        return ReadResult::kFrame;
    }
  }
}

// At most kFramesPerWake frames per call, so one busy peer cannot starve the
// others.
bool TcpTransport::ReadFrom(Peer& peer) {
  constexpr int kFramesPerWake = 64;
  try {
    for (int frames = 0; frames < kFramesPerWake; ++frames) {
      switch (ReadStaged(peer.fd.get(), peer.in, /*handshake=*/false)) {
        case ReadResult::kAgain:
          return true;
        case ReadResult::kClosed:
          Lose(peer, "closed the connection");
          return false;
        case ReadResult::kFailed:
          Lose(peer, "connection failed: " + ErrnoText(errno));
          return false;
        case ReadResult::kFrame:
          Deliver(peer);
          break;
      }
    }
  } catch (const Error& e) {
    Lose(peer, fmt::format("sent a bad message: {}", e.what()));
    return false;
  } catch (const std::exception& e) {  // out of memory, say: this peer's frame is lost
    Lose(peer, fmt::format("could not be received: {}", e.what()));
    return false;
  }
  return true;
}

void TcpTransport::Deliver(Peer& peer) {
  Inbound& in = peer.in;
  if (in.frame.sender != peer.address.id) {
    throw Error(fmt::format("claims to be node {}", in.frame.sender));
  }
  if (peer.said_goodbye) throw Error("sent a frame after its Goodbye");
  if (in.frame.channel == Channel::kHandshake) {
    if (!in.payload.empty()) throw Error("sent a second Hello");
    peer.said_goodbye = true;
    peer.removed = true;  // it leaves: its closing is no loss
    return;
  }
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
  if (peer.removed) return;  // RemovePeer closed it: an orderly leave
  const std::string why = fmt::format("{} {}", peer.address.Describe(), reason);
  for (ChannelHandler* h : handlers_) {
    if (h != nullptr) h->OnPeerLost(peer.address.id, why);
  }
}

}  // namespace ssivm::cluster

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

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/thread_filter.h"

namespace ssivm::cluster {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

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
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
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

constexpr int kMaxIov = 64;  // per socket write

// The iovecs of `frames` from byte `offset` of the first on (at most `max`):
// each frame's head, then its page and the page's tag.
template <class Frames>
int Gather(const Frames& frames, size_t first, size_t offset, iovec* iov, int max) {
  int n = 0;
  for (size_t f = first; f < frames.size() && n + 3 <= max; ++f) {
    size_t skip = f == first ? offset : 0;
    const auto& frame = frames[f];
    const std::pair<const uint8_t*, size_t> parts[] = {
        {frame.head.data(), frame.head.size()},
        {frame.page ? frame.page.data() : nullptr, frame.page ? abi::kPageSize : 0},
        {frame.page_tag.data(), frame.page ? frame.tag_bytes : 0}};
    for (const auto& [data, len] : parts) {
      if (skip >= len) {
        skip -= len;
        continue;
      }
      iov[n++] = {const_cast<uint8_t*>(data + skip), len - skip};
      skip = 0;
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
    iovec iov[kMaxIov];
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(Gather(batch, frame, offset, iov, kMaxIov));
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
std::optional<std::pair<FrameHeader, std::vector<uint8_t>>> ReadHandshakeFrame(
    int fd, Clock::time_point deadline, const std::string& peer) {
  std::array<uint8_t, kFrameHeaderSize> header{};
  {
    // The first byte alone: a close before it is a refusal, not an error.
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
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
    throw Error(fmt::format("sent a {} frame during the handshake", ChannelName(f.channel)));
  }
  std::vector<uint8_t> payload(f.payload);
  ReadExact(fd, payload.data(), payload.size(), deadline, peer);
  return std::make_pair(f, std::move(payload));
}

std::string Describe(const sockaddr_in& from) {
  char ip[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
  return fmt::format("a connection from {}:{}", ip, ntohs(from.sin_port));
}

struct Dialled {
  UniqueFd fd;
  SessionKeys keys;
};

// Dials `addr` and passes the handshake (this node's Hello first), retrying
// while it does not listen, closes without answering (it has not admitted
// this node yet) or is at another epoch (it has not applied the view with
// this node yet), until the deadline. Any other failure throws at once: a
// peer of another cluster, without the secret, or that breaks the protocol.
// At the deadline the error names the peer's last answer (e.g. its epoch),
// which says more than how the last attempt ended (refused, timed out).
Dialled Dial(const NodeAddress& addr, const HandshakeConfig& mine, Clock::time_point deadline) {
  const std::string who = addr.Describe();
  const sockaddr_in a = ToSockaddr(addr.host, addr.port);
  std::string failure;
  std::string answer;  // the last mismatch the peer answered with
  for (;; std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    if (Clock::now() > deadline) {
      if (answer.empty() || answer == failure) {
        throw Error(fmt::format("node {} cannot join {}: {}", mine.self, who, failure));
      }
      throw Error(fmt::format("node {} cannot join {}: {} (last attempt: {})", mine.self, who,
                              answer, failure));
    }
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
      failure = "cannot connect: " + ErrnoText(errno);
      continue;
    }
    SetNoDelay(fd.get());
    DialerHandshake handshake(mine);  // a fresh nonce for every attempt
    const std::vector<uint8_t> hello = handshake.Hello();
    if (::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(hello.size())) {
      failure = "it closed the connection before the handshake";
      continue;
    }
    try {
      const auto got = ReadHandshakeFrame(fd.get(), deadline, who);
      if (!got) {
        failure = "it closed the connection without answering (it has not admitted this node)";
        continue;
      }
      const std::vector<uint8_t> finish = handshake.OnReply(got->first, got->second, addr.id);
      WriteAll(fd.get(), finish.data(), finish.size(), who);
    } catch (const Error& e) {
      if (handshake.retry()) {
        failure = answer = e.what();
        continue;
      }
      if (!answer.empty() && Clock::now() >= deadline) {
        failure = e.what();  // the deadline passed while waiting for an answer
        continue;
      }
      throw Error(fmt::format("handshake with {} failed: {}", who, e.what()));
    }
    return {std::move(fd), handshake.keys()};
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
  if (config.security != TransportSecurity::kNone &&
      std::all_of(config.secret.begin(), config.secret.end(), [](uint8_t b) { return b == 0; })) {
    throw Error(fmt::format("node {}: the transport is {} but has no cluster secret", config.self,
                            SecurityName(config.security)));
  }
  std::unique_ptr<TcpTransport> t(new TcpTransport(config, std::move(listener)));
  const auto deadline = Clock::now() + config.connect_timeout;
  // Higher ids dial this node: admitted first, their handshakes then run on
  // the receive thread (an idle or bad connection delays none of them)
  // while this thread dials the lower ids, which may not listen yet.
  std::vector<NodeAddress> higher;
  for (const auto& [id, addr] : members) {
    if (id > config.self) higher.push_back(*addr);
  }
  {
    std::lock_guard<std::mutex> lock(t->admit_mu_);
    for (const NodeAddress& a : higher) t->admitted_[a.id] = a;
  }
  t->StartReceiving();
  for (const auto& [id, addr] : members) {
    if (id >= config.self) continue;
    Dialled d = Dial(*addr, t->Handshake(config.epoch), deadline);
    t->AddConnected(*addr, std::move(d.fd), d.keys);
  }
  const std::vector<NodeAddress> missing = t->AwaitAdmitted(higher, deadline);
  if (!missing.empty()) {
    std::string names;
    for (const NodeAddress& a : missing) names += " " + a.Describe();
    const std::string refused = t->last_refusal();
    throw Error(fmt::format("node {}: these peers did not connect in time:{}{}", config.self, names,
                            refused.empty() ? "" : " (last refused: " + refused + ")"));
  }
  return t;
}

HandshakeConfig TcpTransport::Handshake(uint64_t epoch) const {
  return {config_.cluster_id, epoch, config_.self, config_.security, config_.secret};
}

std::vector<NodeAddress> TcpTransport::AwaitAdmitted(const std::vector<NodeAddress>& peers,
                                                     Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(admit_mu_);
  const auto waiting = [&](NodeId id) {
    return admitted_.count(id) != 0 || claimed_.count(id) != 0;
  };
  // The receive thread takes an admission when the joiner's Hello arrives
  // and puts it back if its handshake then fails.
  admit_cv_.wait_until(lock, deadline, [&] {
    return stopping_ || std::none_of(peers.begin(), peers.end(),
                                     [&](const NodeAddress& a) { return waiting(a.id); });
  });
  // One whose Finish is being checked: brief.
  admit_cv_.wait(lock, [&] {
    return std::none_of(peers.begin(), peers.end(),
                        [&](const NodeAddress& a) { return claimed_.count(a.id) != 0; });
  });
  std::vector<NodeAddress> missing;
  for (const NodeAddress& a : peers) {
    admitted_.erase(a.id);
    if (stopping_ || FindPeer(a.id) == nullptr) missing.push_back(a);
  }
  return missing;
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
void TcpTransport::AddConnected(const NodeAddress& address, UniqueFd fd, const SessionKeys& keys) {
  auto peer = std::make_shared<Peer>();
  peer->address = address;
  peer->fd = std::move(fd);
  peer->seal = std::make_unique<FrameSeal>(config_.security, keys.send);
  peer->heard = peer->sent = NowNs();
  peer->in.seal = std::make_unique<FrameSeal>(config_.security, keys.receive);
  bool watch = false;
  {
    std::unique_lock<std::shared_mutex> lock(peers_mu_);
    if (!peers_.emplace(address.id, peer).second) {
      throw Error(fmt::format("{} is a peer already", address.Describe()));
    }
    watch = delivering_;
  }
  StartSender(peer);
  if (watch) {
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

void TcpTransport::StartReceiving() {
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
  thread_ = std::thread([this] { ReceiveLoop(); });
}

void TcpTransport::Start() {
  std::unique_lock<std::shared_mutex> lock(peers_mu_);
  if (delivering_) return;
  delivering_ = true;
  epoll_event ev{};
  ev.events = EPOLLIN;
  for (auto& [id, peer] : peers_) {
    peer->heard = NowNs();  // silence is counted from here: frames wait until now
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, peer->fd.get(), &ev) != 0) ThrowErrno("epoll_ctl");
  }
}

// ---- Membership -------------------------------------------------------------
//
// A connection's dialer is the higher id. A node lets a dialler in only once
// it admitted it (Connect admits every higher member; AddPeer a joiner): the
// receive thread reads the dialler's Hello on the accepted connection without
// blocking (other connections and peers go on meanwhile), checks it and, if
// the node is admitted, answers with its Reply and waits for the Finish that
// proves the secret (handshake.h). A dialler that is not admitted is closed
// without an answer (it retries until its timeout); one of another cluster,
// epoch or security gets a Reply that names the mismatch; every refusal is
// counted and its reason kept. A connection that does not finish its
// handshake is closed at the connect timeout; at most kMaxPending handshakes
// wait at once.

void TcpTransport::AddPeer(const NodeAddress& peer, uint64_t epoch) {
  {
    std::shared_lock<std::shared_mutex> lock(peers_mu_);
    if (!delivering_) throw Error("AddPeer before the transport started");
  }
  if (peer.id == config_.self || FindPeer(peer.id) != nullptr) {
    throw Error(fmt::format("{} is a peer of node {} already", peer.Describe(), config_.self));
  }
  epoch_ = epoch;
  const auto deadline = Clock::now() + config_.connect_timeout;
  if (peer.id < config_.self) {
    Dialled d = Dial(peer, Handshake(epoch), deadline);
    AddConnected(peer, std::move(d.fd), d.keys);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(admit_mu_);
    admitted_[peer.id] = peer;
  }
  if (AwaitAdmitted({peer}, deadline).empty()) return;
  const std::string refused = last_refusal();
  throw Error(fmt::format("{} did not join node {} in time{}", peer.Describe(), config_.self,
                          refused.empty() ? "" : " (last refused: " + refused + ")"));
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
  goodbye.head = EncodeSignal(HandshakeKind::kGoodbye, config_.self);
  const auto deadline = Clock::now() + config_.flush_timeout;
  Enqueue(*peer, std::move(goodbye), Channel::kHandshake, /*capped=*/false);
  StopSender(*peer, deadline, /*half_close=*/true);
  // Closing with unread bytes would reset the connection, and a reset can
  // overtake the Goodbye: read (and drop) until the peer closes its side.
  uint8_t scratch[4096];
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
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
    if (p.answered) {
      p.handshake->OnFinish(p.in.frame, p.in.payload);
    } else {
      p.handshake = std::make_unique<AcceptorHandshake>(Handshake(epoch_));
      p.handshake->OnHello(p.in.frame, p.in.payload);
    }
  } catch (const Error& e) {
    return Refuse(token, e.what());
  }
  const AcceptorHandshake& h = *p.handshake;
  if (!p.answered) {
    const auto answer = [&] {
      const std::vector<uint8_t> reply = h.Reply();
      return ::send(p.fd.get(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT) ==
             static_cast<ssize_t>(reply.size());
    };
    if (!h.mismatch().empty()) {
      answer();  // it names the mismatch to the dialler
      return Refuse(token, h.mismatch());
    }
    bool admitted = false;
    {
      std::lock_guard<std::mutex> lock(admit_mu_);
      admitted = admitted_.count(h.peer()) != 0;
    }
    if (!admitted) {
      return Refuse(token,
                    fmt::format("node {} is not admitted to node {}", h.peer(), config_.self));
    }
    if (!answer()) return Refuse(token, "cannot answer its Hello: " + ErrnoText(errno));
    p.answered = true;
    return;  // its Finish comes next
  }
  // The Finish proved the secret: the first connection of the node to prove
  // it takes the admission (a Hello alone, which anyone can send, takes
  // nothing, so an impostor that stalls delays no one).
  std::optional<NodeAddress> address;
  {
    std::lock_guard<std::mutex> lock(admit_mu_);
    const auto a = admitted_.find(h.peer());
    if (a != admitted_.end()) {
      address = a->second;
      admitted_.erase(a);
      claimed_.insert(h.peer());
    }
  }
  if (!address) {
    return Refuse(token, fmt::format("node {} is not admitted to node {} (any more)", h.peer(),
                                     config_.self));
  }
  const SessionKeys keys = h.keys();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.fd.get(), nullptr);
  UniqueFd fd = std::move(p.fd);
  const std::string who = p.who;
  pending_.erase(it);
  // The sender thread writes with blocking calls; receiving never blocks.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  bool joined = false;
  try {
    AddConnected(*address, std::move(fd), keys);
    joined = true;
  } catch (const std::exception& e) {
    NoteRefusal(fmt::format("{}: {}", who, e.what()));
  }
  std::lock_guard<std::mutex> lock(admit_mu_);
  claimed_.erase(address->id);
  if (!joined) admitted_[address->id] = *address;
  admit_cv_.notify_all();
}

void TcpTransport::Refuse(uint64_t token, const std::string& why) {
  const auto it = pending_.find(token);
  if (it == pending_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
  NoteRefusal(fmt::format("{}: {}", it->second.who, why));
  pending_.erase(it);
}

void TcpTransport::NoteRefusal(const std::string& what) {
  spdlog::warn("node {}: refused {}", config_.self, what);
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

// ---- Failure detection --------------------------------------------------------
//
// A peer that hangs, is stopped (SIGSTOP) or is cut off by the network keeps
// its TCP connection open, so only silence shows it: every frame counts as
// contact, and each side sends a heartbeat when it sent nothing for a
// quarter of the timeout. A peer silent for the whole timeout is lost like
// one that closed: the handlers hear of it and the node stops the VM with a
// report naming it. The receive thread does this between reads (from
// Connect on), so it runs while frames arrive from other peers too.

int TcpTransport::Heartbeat() {
  const auto timeout = config_.heartbeat_timeout;
  if (timeout.count() <= 0) return -1;
  const auto now = Clock::now();
  const auto interval = timeout / 4;
  if (now < next_heartbeat_) {  // the common case, on every wake: cheap
    return static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat_ - now).count() + 1);
  }
  // Heartbeats go out from the handshake on; silence counts only once this
  // node reads (Start): a peer still setting up (loading the guest, say)
  // must not be lost by one that started first.
  std::vector<std::shared_ptr<Peer>> peers;
  bool checking = false;
  {
    std::shared_lock<std::shared_mutex> lock(peers_mu_);
    checking = delivering_;
    for (const auto& [id, peer] : peers_) peers.push_back(peer);
  }
  next_heartbeat_ = now + interval;
  const int64_t now_ns = NowNs();
  const auto since = [&](int64_t ns) { return std::chrono::nanoseconds(now_ns - ns); };
  for (const auto& peer : peers) {
    if (peer->lost) continue;
    if (checking && since(peer->heard) > timeout) {
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, peer->fd.get(), nullptr);
      Lose(*peer, fmt::format("sent nothing for {:.1f} s (the heartbeat timeout): it hangs, was "
                              "stopped, or the network to it is cut",
                              std::chrono::duration<double>(since(peer->heard)).count()));
      continue;
    }
    if (since(peer->sent) < interval) continue;
    OutFrame beat;
    beat.head = EncodeSignal(HandshakeKind::kHeartbeat, config_.self);
    try {
      Enqueue(*peer, std::move(beat), Channel::kHandshake);
    } catch (const Error&) {
      // Stopped, or not reading: its own silence or its Sends tell.
    }
  }
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(interval).count());
}

std::vector<LinkStatus> TcpTransport::Links() const {
  std::vector<std::shared_ptr<Peer>> peers;
  {
    std::shared_lock<std::shared_mutex> lock(peers_mu_);
    for (const auto& [id, peer] : peers_) peers.push_back(peer);
  }
  const int64_t now = NowNs();
  std::vector<LinkStatus> out;
  for (const auto& p : peers) {
    LinkStatus l;
    l.peer = p->address.id;
    l.address = fmt::format("{}:{}", p->address.host, p->address.port);
    l.heard_ms_ago = (now - p->heard) / 1000000;
    l.sent_ms_ago = (now - p->sent) / 1000000;
    std::lock_guard<std::mutex> lock(p->out_mu);
    l.queued_bytes = p->queued_bytes;
    out.push_back(std::move(l));
  }
  return out;
}

// ---- Sending ----------------------------------------------------------------
//
// Callers send while holding locks (the fault engine sends under its own
// lock, on the receive thread among others), so a Send that blocked on a full
// socket could deadlock two nodes that both send faster than the other
// reads. Send therefore never blocks on the network: it appends to the
// peer's queue and, unless the peer's sender thread is writing, writes what
// the socket takes of the queue at once (MSG_DONTWAIT: the common,
// lowest-latency case needs no thread hop). One sender thread per peer drains
// the rest with blocking sendmsg calls, taking every queued frame in one
// gather write. A corked thread (Transport::Cork: the receive thread while it
// handles what one read brought, the fault engine while it asks for a page
// and those ahead of it) only appends; its Uncork writes each peer's queue in
// one gather write.
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
  const size_t tags = 2 * peer.seal->tag_bytes();
  if (capped && peer.queued_bytes + out.size() + tags > config_.max_queued_bytes) {
    throw Error(
        fmt::format("send a {} message to {}: {} MiB are queued and unsent; the peer is "
                    "not reading",
                    ChannelName(channel), peer.address.Describe(), peer.queued_bytes >> 20));
  }
  // Sealed here, under out_mu, so that frames are sealed in the order they
  // go out (the receiver opens them in that order).
  peer.seal->SealHead(out.head);
  if (out.page) {
    PageBuffer plain = std::move(out.page);
    out.page_tag = peer.seal->SealPage(plain, out.page, pages_);
    out.tag_bytes = static_cast<uint8_t>(peer.seal->tag_bytes());
  }
  peer.queued_bytes += out.size();
  peer.queue.push_back(std::move(out));
  sent_.fetch_add(1, std::memory_order_relaxed);
  peer.sent = NowNs();
  if (Corked* cork = CorkOfThisThread()) {  // Uncork flushes it
    if (std::none_of(cork->peers.begin(), cork->peers.end(),
                     [&peer](const auto& p) { return p.get() == &peer; })) {
      cork->peers.push_back(peer.shared_from_this());
    }
    return;
  }
  Flush(peer);
}

// Under out_mu. A sender thread in the middle of a batch keeps the order by
// writing everything itself.
void TcpTransport::Flush(Peer& peer) {
  while (!peer.writing && !peer.queue.empty() && peer.send_error.empty()) {
    iovec iov[kMaxIov];
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(Gather(peer.queue, 0, peer.head_offset, iov, kMaxIov));
    size_t asked = 0;
    for (size_t i = 0; i < msg.msg_iovlen; ++i) asked += iov[i].iov_len;
    const ssize_t w = ::sendmsg(peer.fd.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    writes_.fetch_add(1, std::memory_order_relaxed);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN) {
      // The receive side reports the loss; later Sends to it fail with this.
      peer.send_error = ErrnoText(errno);
      peer.queue.clear();
      peer.queued_bytes = 0;
      peer.head_offset = 0;
      return;
    }
    size_t done = w < 0 ? 0 : static_cast<size_t>(w);
    const bool full = done < asked;
    // Drop what went out, possibly ending inside a frame.
    while (done > 0) {
      const size_t left = peer.queue.front().size() - peer.head_offset;
      if (done < left) {
        peer.head_offset += done;
        break;
      }
      done -= left;
      peer.queued_bytes -= peer.queue.front().size();
      peer.queue.pop_front();
      peer.head_offset = 0;
    }
    if (full) break;  // the socket takes no more now
  }
  if (!peer.queue.empty()) peer.out_cv.notify_all();
}

// Per thread, for each transport it corked (a process may have several:
// tests, benchmarks).
std::vector<TcpTransport::Corked>& TcpTransport::CorksOfThisThread() {
  thread_local std::vector<Corked> corks;
  return corks;
}

TcpTransport::Corked* TcpTransport::CorkOfThisThread() {
  for (Corked& c : CorksOfThisThread()) {
    if (c.transport == this) return &c;
  }
  return nullptr;
}

void TcpTransport::Cork() {
  Corked* cork = CorkOfThisThread();
  if (cork == nullptr) cork = &CorksOfThisThread().emplace_back(Corked{this, 0, {}});
  ++cork->depth;
}

void TcpTransport::Uncork() noexcept {
  std::vector<Corked>& corks = CorksOfThisThread();
  const auto it = std::find_if(corks.begin(), corks.end(),
                               [this](const Corked& c) { return c.transport == this; });
  if (it == corks.end() || --it->depth > 0) return;
  const std::vector<std::shared_ptr<Peer>> peers = std::move(it->peers);
  corks.erase(it);
  for (const std::shared_ptr<Peer>& peer : peers) {
    std::lock_guard<std::mutex> lock(peer->out_mu);
    Flush(*peer);
  }
}

void TcpTransport::SenderLoop(Peer& peer) {
  RestrictThisThread(ThreadKind::kTransport);
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
  RestrictThisThread(ThreadKind::kTransport);
  epoll_event events[16];
  for (;;) {
    const int pending = NextPendingTimeoutMs();
    const int beat = Heartbeat();
    const int n = ::epoll_wait(epoll_.get(), events, 16,
                               pending < 0 ? beat : (beat < 0 ? pending : std::min(pending, beat)));
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

// A frame is read in stages (header, payload, page, page tag); a stage's
// bytes come from what the last read took beyond its own stage (`ahead`),
// then from the socket, so a page lands in its buffer straight from the
// socket but for the few bytes read ahead. During a handshake nothing is read
// ahead: what follows the handshake is not this connection's to read yet.
TcpTransport::ReadResult TcpTransport::ReadStaged(int fd, Inbound& in, bool handshake,
                                                  bool from_socket) {
  const size_t tag = in.seal ? in.seal->tag_bytes() : 0;
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
      case Inbound::Stage::kPageTag:
        into = in.page_tag.data();
        want = tag;
        break;
    }
    if (in.got < want && in.ahead_at < in.ahead_end) {
      const size_t n = std::min(want - in.got, in.ahead_end - in.ahead_at);
      std::memcpy(into + in.got, in.ahead.data() + in.ahead_at, n);
      in.ahead_at += n;
      in.got += n;
    }
    if (in.got < want) {
      if (!from_socket) return ReadResult::kAgain;
      if (in.drained) {
        in.drained = false;
        return ReadResult::kAgain;
      }
      iovec iov[2] = {{into + in.got, want - in.got}, {in.ahead.data(), in.ahead.size()}};
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = handshake ? 1 : 2;
      const ssize_t r = ::recvmsg(fd, &msg, MSG_DONTWAIT);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) return ReadResult::kAgain;
      if (r == 0) return ReadResult::kClosed;
      if (r < 0) return ReadResult::kFailed;
      const auto got = static_cast<size_t>(r);
      const size_t own = std::min(got, want - in.got);
      in.got += own;
      in.ahead_at = 0;
      in.ahead_end = got - own;
      in.drained = got < iov[0].iov_len + (handshake ? 0 : iov[1].iov_len);
      if (in.got < want) continue;
    }
    in.got = 0;
    switch (in.stage) {
      case Inbound::Stage::kHeader:
        in.frame = DecodeFrameHeader(in.header);
        // Checked before anything is allocated for the frame.
        if (handshake && in.frame.channel != Channel::kHandshake) {
          throw Error(
              fmt::format("sent a {} frame during its handshake", ChannelName(in.frame.channel)));
        }
        if (in.frame.channel == Channel::kHandshake && in.frame.has_page) {
          throw Error("sent a handshake frame with a page");
        }
        in.payload.resize(in.frame.payload + tag);
        in.stage = Inbound::Stage::kPayload;
        break;
      case Inbound::Stage::kPayload:
        if (tag != 0) {
          const std::span<uint8_t> bytes(in.payload);
          in.seal->OpenPayload(in.header, bytes.first(in.frame.payload),
                               bytes.subspan(in.frame.payload).first<kTagBytes>());
          in.payload.resize(in.frame.payload);
        }
        if (in.frame.has_page) {
          in.page = pages_.Allocate();
          in.stage = Inbound::Stage::kPage;
          break;
        }
        in.stage = Inbound::Stage::kHeader;
        return ReadResult::kFrame;
      case Inbound::Stage::kPage:
        in.page.CountCopy();  // from the socket into its buffer: the one copy
        in.stage = Inbound::Stage::kPageTag;
        break;
      case Inbound::Stage::kPageTag:
        if (tag != 0) in.seal->OpenPage({in.page.mutable_data(), abi::kPageSize}, in.page_tag);
        in.stage = Inbound::Stage::kHeader;
        return ReadResult::kFrame;
    }
  }
}

// At most kFramesPerWake frames per call read the socket, so one busy peer
// cannot starve the others; then the frames already read ahead, which epoll
// would not report.
bool TcpTransport::ReadFrom(Peer& peer) {
  constexpr int kFramesPerWake = 64;
  // The answers to what came in one read go out together, after the
  // handlers handled the whole batch.
  const SendBatch answers(*this);
  // Only the handlers that received frames of this read: a handler need
  // not outlive frames it never gets.
  struct EndBatch {
    std::array<ChannelHandler*, kChannelCount> got{};
    ~EndBatch() {
      for (ChannelHandler* h : got) {
        if (h != nullptr) h->OnBatchEnd();
      }
    }
  } end_batch;
  try {
    for (int frames = 0;; ++frames) {
      switch (ReadStaged(peer.fd.get(), peer.in, /*handshake=*/false,
                         /*from_socket=*/frames < kFramesPerWake)) {
        case ReadResult::kAgain:
          return true;
        case ReadResult::kClosed:
          Lose(peer, "closed the connection");
          return false;
        case ReadResult::kFailed:
          Lose(peer, "connection failed: " + ErrnoText(errno));
          return false;
        case ReadResult::kFrame:
          peer.heard = NowNs();
          if (ChannelHandler* h = Deliver(peer)) {
            end_batch.got[static_cast<size_t>(peer.in.frame.channel)] = h;
          }
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

ChannelHandler* TcpTransport::Deliver(Peer& peer) {
  Inbound& in = peer.in;
  if (in.frame.sender != peer.address.id) {
    throw Error(fmt::format("claims to be node {}", in.frame.sender));
  }
  if (peer.said_goodbye) throw Error("sent a frame after its Goodbye");
  if (in.frame.channel == Channel::kHandshake) {
    if (DecodeSignal(in.payload) == HandshakeKind::kGoodbye) {
      peer.said_goodbye = true;
      peer.removed = true;  // it leaves: its closing is no loss
    }
    return nullptr;
  }
  ChannelHandler* h = handlers_[static_cast<size_t>(in.frame.channel)];
  if (h == nullptr) {
    throw Error(fmt::format("sent a {} message, a channel this node does not serve",
                            ChannelName(in.frame.channel)));
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  h->OnReceive(peer.address.id, in.payload, std::move(in.page));
  in.page = PageBuffer();
  return h;
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

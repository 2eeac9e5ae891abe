// The TCP transport: a full mesh of connections (node i dials every node
// below it and accepts those above), an authenticated handshake
// (handshake.h), and sealed frames (header, small payload, optional page;
// see frame.h and frame_seal.h). One epoll thread
// receives from all peers, reading each frame in stages so that a page lands
// in its buffer straight from the socket; each peer has an out-queue drained
// by its own sender thread (see "Sending" in tcp_transport.cc), so Send
// never blocks on a socket.
#ifndef SSIVM_CLUSTER_TRANSPORT_TCP_TRANSPORT_H_
#define SSIVM_CLUSTER_TRANSPORT_TCP_TRANSPORT_H_

#include <netinet/in.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/transport/frame.h"
#include "cluster/transport/frame_seal.h"
#include "cluster/transport/handshake.h"
#include "cluster/transport/transport.h"
#include "common/page_buffer.h"
#include "common/unique_fd.h"

namespace ssivm::cluster {

// An IPv4 socket address; Error if `host` is not an IPv4 address.
sockaddr_in ToSockaddr(const std::string& host, uint16_t port);
// Small protocol messages go out at once (no Nagle delay).
void SetNoDelay(int fd);

// A listening socket, created before the mesh so that tests can use port 0.
class TcpListener {
 public:
  static TcpListener Listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  int fd() const { return fd_.get(); }

 private:
  TcpListener(UniqueFd fd, uint16_t port) : fd_(std::move(fd)), port_(port) {}
  UniqueFd fd_;
  uint16_t port_;
};

class TcpTransport final : public Transport {
 public:
  // Builds the whole mesh: dials lower ids (retrying until they listen and
  // admit this node), lets higher ids connect, and passes each connection's
  // handshake (cluster id, protocol version, node id, epoch, security, and
  // proof of the secret). Connections that fail their handshake are refused
  // one by one while the mesh forms (handshakes are read without blocking).
  // Throws Error naming the peer and the mismatch, or the peers still
  // missing at the timeout with the last refusal. The listener stays open:
  // peers added later (AddPeer) connect through it.
  static std::unique_ptr<TcpTransport> Connect(const TransportConfig& config, TcpListener listener);
  ~TcpTransport() override;

  void SetHandler(Channel channel, ChannelHandler* handler) override;
  void Start() override;
  // Never blocks on the network: writes at once if the peer's queue is empty
  // and the socket has room, queues the rest for the peer's sender thread.
  void Send(NodeId to, Channel channel, std::span<const uint8_t> payload,
            const PageBuffer& page = {}) override;
  void Cork() override;
  void Uncork() noexcept override;
  void AddPeer(const NodeAddress& peer, uint64_t epoch) override;
  void RemovePeer(NodeId id) override;
  void Stop() override;
  PagePool& pages() override { return pages_; }
  std::vector<LinkStatus> Links() const override;

  // Frames accepted by Send (queued or written).
  uint64_t messages_sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t messages_received() const { return received_.load(std::memory_order_relaxed); }
  // Socket write calls (send/sendmsg) made: fewer than messages_sent() when
  // queued frames went out together.
  uint64_t socket_writes() const { return writes_.load(std::memory_order_relaxed); }
  // Connections refused after Start (not admitted, bad handshake, timeout),
  // and the reason of the last one.
  uint64_t connections_refused() const;
  std::string last_refusal() const;

 private:
  // A frame to send: header and payload (and their tag), and the page that
  // follows them (and its tag: `tag_bytes` of `page_tag`).
  struct OutFrame {
    std::vector<uint8_t> head;
    PageBuffer page;
    Tag page_tag{};
    uint8_t tag_bytes = 0;
    size_t size() const { return head.size() + (page ? abi::kPageSize + tag_bytes : 0); }
  };
  // Where the receive side is in a connection's current frame.
  // `seal` opens the frames of a connection past its handshake (none while
  // it lasts: handshake frames travel in clear); a tag follows the payload
  // and the page.
  // Past its handshake, each read also asks for up to kReadAhead bytes
  // beyond the current stage: a frame's small parts (header, payload, tags)
  // and the start of the next frame come with one call, and a page's stage
  // takes the next frame's small parts with it; the stages after it take
  // those bytes first. Small next to a page, so a page is still read (all
  // but its first few hundred bytes) straight into its buffer.
  static constexpr size_t kReadAhead = 512;
  struct Inbound {
    enum class Stage : uint8_t { kHeader, kPayload, kPage, kPageTag };
    Stage stage = Stage::kHeader;
    std::array<uint8_t, kFrameHeaderSize> header{};
    FrameHeader frame{};
    std::vector<uint8_t> payload;  // and its tag, until opened
    PageBuffer page;
    Tag page_tag{};
    size_t got = 0;  // bytes of the current stage received
    std::unique_ptr<FrameSeal> seal;
    std::array<uint8_t, kReadAhead> ahead{};
    size_t ahead_at = 0;   // the next byte of `ahead` to take
    size_t ahead_end = 0;  // the bytes read into `ahead`
    // The last read took less than it asked for: the socket was empty then,
    // so the next frame waits for epoll (level-triggered) instead of a read
    // that would only say EAGAIN.
    bool drained = false;
  };
  struct Peer : std::enable_shared_from_this<Peer> {
    NodeAddress address;
    UniqueFd fd;
    Inbound in;         // receive thread only (its seal too)
    bool lost = false;  // receive thread only
    // steady_clock nanoseconds: the last frame from it (the receive thread
    // writes), and the last frame to it (senders write, under out_mu).
    std::atomic<int64_t> heard{0};
    std::atomic<int64_t> sent{0};
    bool said_goodbye = false;         // receive thread only
    std::atomic<bool> removed{false};  // RemovePeer: its closing is no loss

    // Out-queue, guarded by out_mu. The first frame may be partly written
    // already (head_offset bytes).
    std::mutex out_mu;
    std::condition_variable out_cv;
    std::deque<OutFrame> queue;
    size_t head_offset = 0;
    size_t queued_bytes = 0;
    bool writing = false;             // the sender thread is writing frames it took
    bool stopping = false;            // Stop(): drain what is queued, then exit
    std::string send_error;           // set once: the connection is unusable
    bool stopped = false;             // Stop() ran: Sends fail
    std::unique_ptr<FrameSeal> seal;  // frames are sealed in queue order

    std::thread sender;
    std::mutex stop_mu;  // StopSender runs once
  };
  // An accepted connection before its handshake is done: waiting for the
  // dialer's Hello, then (admitted, answered) for its Finish.
  struct Pending {
    UniqueFd fd;
    std::string who;
    Inbound in;
    std::chrono::steady_clock::time_point deadline;
    std::unique_ptr<AcceptorHandshake> handshake;
    bool answered = false;  // its Hello was answered: the Finish comes next
  };
  enum class ReadResult : uint8_t { kFrame, kAgain, kClosed, kFailed };

  TcpTransport(const TransportConfig& config, TcpListener listener);
  HandshakeConfig Handshake(uint64_t epoch) const;
  // The receive thread, at first only for handshakes: peers' frames are
  // read once Start() set the handlers.
  void StartReceiving();
  // Waits until every one of `peers` (admitted) joined or the deadline
  // passed; withdraws their admissions and returns those missing.
  std::vector<NodeAddress> AwaitAdmitted(const std::vector<NodeAddress>& peers,
                                         std::chrono::steady_clock::time_point deadline);
  std::shared_ptr<Peer> FindPeer(NodeId id) const;
  void AddConnected(const NodeAddress& address, UniqueFd fd, const SessionKeys& keys);
  void StartSender(const std::shared_ptr<Peer>& peer);
  // Queues, then writes what the socket takes at once unless this thread
  // corked its sends (see "Sending" in tcp_transport.cc). `capped`: refused
  // when max_queued_bytes are queued (a Goodbye is not).
  void Enqueue(Peer& peer, OutFrame out, Channel channel, bool capped = true);
  // Under peer.out_mu: writes the queue without blocking as far as the
  // socket takes it (unless the sender thread is writing), wakes the sender
  // thread for the rest.
  void Flush(Peer& peer);
  // The peers this thread sent to while corked, flushed by the last Uncork.
  struct Corked {
    const TcpTransport* transport;
    int depth;
    std::vector<std::shared_ptr<Peer>> peers;
  };
  static std::vector<Corked>& CorksOfThisThread();
  Corked* CorkOfThisThread();  // nullptr: not corked
  void SenderLoop(Peer& peer);
  // Lets the peer's queue drain until `deadline`, then fails further Sends,
  // shuts the socket down (only its sending side if `half_close`) and joins
  // the sender. Once per peer, whoever calls first.
  static void StopSender(Peer& peer, std::chrono::steady_clock::time_point deadline,
                         bool half_close = false);
  void ReceiveLoop();
  // `handshake`: a connection before its handshake, where only a Hello may
  // come. `from_socket`: false takes only the bytes read ahead (kAgain when
  // they end mid-frame). Throws Error for a frame that cannot be.
  ReadResult ReadStaged(int fd, Inbound& in, bool handshake, bool from_socket = true);
  // Returns false when the peer is lost (after reporting it).
  bool ReadFrom(Peer& peer);
  // The handler the frame went to (nullptr: the transport's own).
  ChannelHandler* Deliver(Peer& peer);
  void Lose(Peer& peer, const std::string& reason);
  void AcceptPending();
  void ReadPending(uint64_t token);
  void Refuse(uint64_t token, const std::string& why);
  void NoteRefusal(const std::string& what);
  int NextPendingTimeoutMs();
  // Loses peers silent for longer than the heartbeat timeout, sends a
  // heartbeat to those this node sent nothing for a while; returns the ms
  // until it should run again (-1: never).
  int Heartbeat();

  const TransportConfig config_;
  const TcpListener listener_;
  PagePool pages_;
  std::atomic<uint64_t> epoch_;
  mutable std::shared_mutex peers_mu_;
  std::map<NodeId, std::shared_ptr<Peer>> peers_;
  std::array<ChannelHandler*, kChannelCount> handlers_{};
  bool delivering_ = false;  // Start() ran; guarded by peers_mu_

  // Admissions (AddPeer of a higher id): guarded by admit_mu_.
  mutable std::mutex admit_mu_;
  std::condition_variable admit_cv_;
  std::map<NodeId, NodeAddress> admitted_;  // may connect now
  std::set<NodeId> claimed_;                // their Hello came: being connected
  bool stopping_ = false;
  uint64_t refused_ = 0;
  std::string last_refusal_;

  static constexpr size_t kMaxPending = 16;
  std::map<uint64_t, Pending> pending_;  // receive thread only
  uint64_t next_token_ = 0;
  UniqueFd spare_;  // given up to accept (and close) when out of descriptors

  UniqueFd epoll_;
  UniqueFd wake_;
  std::thread thread_;
  std::chrono::steady_clock::time_point next_heartbeat_{};  // receive thread only
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> writes_{0};
};

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_TCP_TRANSPORT_H_

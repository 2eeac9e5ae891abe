// The TCP transport: a full mesh of connections (node i dials every node
// below it and accepts those above), a versioned handshake, and
// length-prefixed frames (the message header carries the payload size).
// One epoll thread receives from all peers; each peer has an out-queue
// drained by its own sender thread (see "Sending" in tcp_transport.cc), so
// Send never blocks on a socket.
#ifndef SSIVM_DSM_TRANSPORT_TCP_TRANSPORT_H_
#define SSIVM_DSM_TRANSPORT_TCP_TRANSPORT_H_

#include <netinet/in.h>

#include <atomic>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "dsm/transport/transport.h"

namespace ssivm::dsm {

struct NodeAddress {
  NodeId id;
  std::string host;  // IPv4 address
  uint16_t port;
  std::string Describe() const;
};

struct TcpConfig {
  uint64_t cluster_id = 0;
  uint64_t epoch = 0;
  NodeId self = 0;
  std::vector<NodeAddress> nodes;  // every member, this node included
  std::chrono::milliseconds connect_timeout{30000};
  // Stop() lets queued messages go out for this long (so that a Shutdown
  // sent just before reaches the peers), then closes regardless.
  std::chrono::milliseconds flush_timeout{2000};
  // A peer with this much queued and unsent is not reading: Send fails.
  size_t max_queued_bytes = size_t{512} << 20;
};

// A listening socket, created before the mesh so that tests can use port 0.
// An IPv4 socket address; Error if `host` is not an IPv4 address.
sockaddr_in ToSockaddr(const std::string& host, uint16_t port);
// Small protocol messages go out at once (no Nagle delay).
void SetNoDelay(int fd);

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
  // Builds the whole mesh: dials lower ids (retrying until they listen),
  // accepts higher ids, and checks each peer's handshake (cluster id,
  // protocol version, node id, epoch). Throws Error naming the peer and the
  // mismatch, or the peers still missing at the timeout.
  static std::unique_ptr<TcpTransport> Connect(const TcpConfig& config, TcpListener listener);
  ~TcpTransport() override;

  void Start(TransportHandler* handler) override;
  // Never blocks on the network: writes at once if the peer's queue is empty
  // and the socket has room, queues the rest for the peer's sender thread.
  void Send(NodeId to, const Message& message) override;
  void Stop() override;

  // Messages accepted by Send (queued or written).
  uint64_t messages_sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t messages_received() const { return received_.load(std::memory_order_relaxed); }
  // Socket write calls (send/sendmsg) made: fewer than messages_sent() when
  // queued messages went out together.
  uint64_t socket_writes() const { return writes_.load(std::memory_order_relaxed); }

 private:
  struct Peer {
    NodeAddress address;
    UniqueFd fd;
    std::vector<uint8_t> inbox;  // bytes received, not yet a whole frame
    bool lost = false;           // receive side only

    // Out-queue, guarded by out_mu. Frames are whole encoded messages; the
    // first may be partly written already (head_offset bytes).
    std::mutex out_mu;
    std::condition_variable out_cv;
    std::deque<std::vector<uint8_t>> queue;
    size_t head_offset = 0;
    size_t queued_bytes = 0;
    bool writing = false;    // the sender thread is writing frames it took
    bool stopping = false;   // Stop(): drain what is queued, then exit
    std::string send_error;  // set once: the connection is unusable
    bool stopped = false;    // Stop() ran: Sends fail

    std::thread sender;
  };

  explicit TcpTransport(const TcpConfig& config) : config_(config) {}
  void StartSenders();
  void SenderLoop(Peer& peer);
  void StopSenders();
  void ReceiveLoop();
  // Returns false when the peer is lost (after reporting it).
  bool ReadFrom(Peer& peer);
  void Lose(Peer& peer, const std::string& reason);

  TcpConfig config_;
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  UniqueFd epoll_;
  UniqueFd wake_;
  std::thread thread_;
  TransportHandler* handler_ = nullptr;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> writes_{0};
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_TRANSPORT_TCP_TRANSPORT_H_

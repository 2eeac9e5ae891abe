// The TCP transport: a full mesh of connections (node i dials every node
// below it and accepts those above), a versioned handshake, and frames
// (header, small payload, optional page; see frame.h). One epoll thread
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
#include <string>
#include <thread>
#include <vector>

#include "cluster/transport/frame.h"
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
  // Builds the whole mesh: dials lower ids (retrying until they listen),
  // accepts higher ids, and checks each peer's handshake (cluster id,
  // protocol version, node id, epoch). Throws Error naming the peer and the
  // mismatch, or the peers still missing at the timeout.
  static std::unique_ptr<TcpTransport> Connect(const TransportConfig& config, TcpListener listener);
  ~TcpTransport() override;

  void SetHandler(Channel channel, ChannelHandler* handler) override;
  void Start() override;
  // Never blocks on the network: writes at once if the peer's queue is empty
  // and the socket has room, queues the rest for the peer's sender thread.
  void Send(NodeId to, Channel channel, std::span<const uint8_t> payload,
            const PageBuffer& page = {}) override;
  void Stop() override;
  PagePool& pages() override { return pages_; }

  // Frames accepted by Send (queued or written).
  uint64_t messages_sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t messages_received() const { return received_.load(std::memory_order_relaxed); }
  // Socket write calls (send/sendmsg) made: fewer than messages_sent() when
  // queued frames went out together.
  uint64_t socket_writes() const { return writes_.load(std::memory_order_relaxed); }

 private:
  // A frame to send: header and payload, and the page that follows them.
  struct OutFrame {
    std::vector<uint8_t> head;
    PageBuffer page;
    size_t size() const { return head.size() + (page ? abi::kPageSize : 0); }
  };
  // Where the receive side is in the peer's current frame.
  struct Inbound {
    enum class Stage : uint8_t { kHeader, kPayload, kPage };
    Stage stage = Stage::kHeader;
    std::array<uint8_t, kFrameHeaderSize> header{};
    FrameHeader frame{};
    std::vector<uint8_t> payload;
    PageBuffer page;
    size_t got = 0;  // bytes of the current stage received
  };
  struct Peer {
    NodeAddress address;
    UniqueFd fd;
    Inbound in;         // receive thread only
    bool lost = false;  // receive side only

    // Out-queue, guarded by out_mu. The first frame may be partly written
    // already (head_offset bytes).
    std::mutex out_mu;
    std::condition_variable out_cv;
    std::deque<OutFrame> queue;
    size_t head_offset = 0;
    size_t queued_bytes = 0;
    bool writing = false;    // the sender thread is writing frames it took
    bool stopping = false;   // Stop(): drain what is queued, then exit
    std::string send_error;  // set once: the connection is unusable
    bool stopped = false;    // Stop() ran: Sends fail

    std::thread sender;
  };

  explicit TcpTransport(const TransportConfig& config) : config_(config) {}
  void StartSenders();
  void SenderLoop(Peer& peer);
  void StopSenders();
  void ReceiveLoop();
  // Returns false when the peer is lost (after reporting it).
  bool ReadFrom(Peer& peer);
  void Deliver(Peer& peer);
  void Lose(Peer& peer, const std::string& reason);

  TransportConfig config_;
  PagePool pages_;
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  std::array<ChannelHandler*, kChannelCount> handlers_{};
  UniqueFd epoll_;
  UniqueFd wake_;
  std::thread thread_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> writes_{0};
};

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_TCP_TRANSPORT_H_

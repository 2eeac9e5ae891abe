#include <fmt/format.h>

#include "cluster/transport/tcp_transport.h"
#include "cluster/transport/transport.h"
#include "common/error.h"

namespace ssivm::cluster {
namespace {

// The transport of a node that has no transport address (a VM started
// without a cluster manifest): a cluster of one, with no wire. It takes
// handlers and starts like any other; there is nobody to send to.
class LoneTransport final : public Transport {
 public:
  explicit LoneTransport(NodeId self) : self_(self) {}
  void SetHandler(Channel, ChannelHandler*) override {}
  void Start() override {}
  void Send(NodeId to, Channel channel, std::span<const uint8_t>, const PageBuffer&) override {
    throw Error(fmt::format("node {} has no peers: cannot send a {} message to node {}", self_,
                            ChannelName(channel), to));
  }
  void AddPeer(const NodeAddress& peer, uint64_t) override {
    throw Error(fmt::format(
        "node {} has no transport address, so {} cannot join it: start the VM from a cluster "
        "manifest to add nodes",
        self_, peer.Describe()));
  }
  void RemovePeer(NodeId id) override {
    throw Error(fmt::format("node {} is not a peer of node {}: it has none", id, self_));
  }
  void Stop() override {}
  PagePool& pages() override { return pages_; }
  std::vector<LinkStatus> Links() const override { return {}; }

 private:
  const NodeId self_;
  PagePool pages_;
};

}  // namespace

std::unique_ptr<Transport> MakeTransport(const TransportConfig& config) {
  const NodeAddress* self = nullptr;
  for (const NodeAddress& n : config.nodes) {
    if (n.id == config.self) self = &n;
  }
  if (self == nullptr) throw Error(fmt::format("node {} is not a member", config.self));
  if (self->host.empty()) {
    if (config.nodes.size() != 1) {
      throw Error(fmt::format("node {} has peers but no transport address", config.self));
    }
    return std::make_unique<LoneTransport>(config.self);
  }
  switch (config.kind) {
    case TransportKind::kTcp:
      return TcpTransport::Connect(config, TcpListener::Listen(self->host, self->port));
  }
  throw Error(fmt::format("unknown transport kind {}", static_cast<int>(config.kind)));
}

}  // namespace ssivm::cluster

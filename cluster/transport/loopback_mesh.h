// A full TCP mesh of `n` nodes on 127.0.0.1 ports chosen by the kernel, all
// in this process: for tests and benchmarks that want real sockets between
// nodes without network namespaces.
#ifndef SSIVM_CLUSTER_TRANSPORT_LOOPBACK_MESH_H_
#define SSIVM_CLUSTER_TRANSPORT_LOOPBACK_MESH_H_

#include <future>
#include <memory>
#include <vector>

#include "cluster/transport/tcp_transport.h"

namespace ssivm::cluster {

// Transport i is node i's; all share a fixed secret (the mesh never leaves
// this process). Throws Error as TcpTransport::Connect does.
inline std::vector<std::unique_ptr<TcpTransport>> ConnectLoopbackMesh(
    uint32_t n, TransportSecurity security = TransportSecurity::kEncrypted, uint64_t cluster_id = 1,
    uint64_t epoch = 1) {
  std::vector<TcpListener> listeners;
  std::vector<NodeAddress> addrs;
  for (NodeId i = 0; i < n; ++i) {
    listeners.push_back(TcpListener::Listen("127.0.0.1", 0));
    addrs.push_back({i, "127.0.0.1", listeners.back().port()});
  }
  // Connect blocks until the whole mesh exists: one thread per node.
  std::vector<std::future<std::unique_ptr<TcpTransport>>> pending;
  for (NodeId i = 0; i < n; ++i) {
    pending.push_back(std::async(std::launch::async, [&, i] {
      TransportConfig config;
      config.cluster_id = cluster_id;
      config.epoch = epoch;
      config.self = i;
      config.nodes = addrs;
      config.security = security;
      config.secret.fill(0x6b);
      config.connect_timeout = std::chrono::seconds(20);
      return TcpTransport::Connect(config, std::move(listeners[i]));
    }));
  }
  std::vector<std::unique_ptr<TcpTransport>> out;
  out.reserve(n);
  for (auto& p : pending) out.push_back(p.get());
  return out;
}

}  // namespace ssivm::cluster

#endif  // SSIVM_CLUSTER_TRANSPORT_LOOPBACK_MESH_H_

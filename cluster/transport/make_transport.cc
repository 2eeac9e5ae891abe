#include <fmt/format.h>

#include "cluster/transport/tcp_transport.h"
#include "cluster/transport/transport.h"
#include "common/error.h"

namespace ssivm::cluster {

std::unique_ptr<Transport> MakeTransport(const TransportConfig& config) {
  switch (config.kind) {
    case TransportKind::kTcp:
      for (const NodeAddress& n : config.nodes) {
        if (n.id == config.self) {
          return TcpTransport::Connect(config, TcpListener::Listen(n.host, n.port));
        }
      }
      throw Error(fmt::format("node {} is not a member", config.self));
  }
  throw Error(fmt::format("unknown transport kind {}", static_cast<int>(config.kind)));
}

}  // namespace ssivm::cluster

// The node binary's version, as `ssivm --version` prints it. ssictl compares
// it between hosts before starting a cluster: nodes of one aggregate must run
// the same release and speak the same DSM protocol.
#ifndef SSIVM_HYPERVISOR_VERSION_H_
#define SSIVM_HYPERVISOR_VERSION_H_

#include <string>

#include "cluster/transport/frame.h"

namespace ssivm {

inline constexpr char kSsivmVersion[] = "0.1.0";

// "ssivm 0.1.0 protocol 4".
inline std::string VersionLine() {
  return std::string("ssivm ") + kSsivmVersion + " protocol " +
         std::to_string(cluster::kProtocolVersion);
}

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_VERSION_H_

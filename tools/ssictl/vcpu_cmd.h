// `ssictl migrate|pin|unpin`: one request to node 0 of a running VM, which
// moves or pins the vCPU (a move blocks until it is done).
#ifndef SSIVM_TOOLS_SSICTL_VCPU_CMD_H_
#define SSIVM_TOOLS_SSICTL_VCPU_CMD_H_

#include <cstdio>
#include <string>

#include "tools/ssictl/remote_cluster.h"
#include "tools/ssictl/vcpu_answer.h"

namespace ssivm {

// Sends the request to node 0 of the VM `name` started on this machine
// (empty: the only one running), or with remote.manifest set to the device
// node of that cluster (through `ssivm --query` there), and prints the
// outcome on `out` (node 0's JSON answer with remote.json). Returns 0; Error
// (ssictl prints it, status 125) with node 0's own words if it refused, or
// naming why there is no answer (no such VM, node 0 not running, no answer
// within the time a move may take).
int VcpuCommand(const VcpuRequest& request, const std::string& name, const RemoteOptions& remote,
                FILE* out = stdout);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_VCPU_CMD_H_

// `ssictl up|status|down --manifest FILE`: the node processes of a manifest
// on the hosts it names, reached through ssh (nodes on localhost directly).
#ifndef SSIVM_TOOLS_SSICTL_REMOTE_CLUSTER_H_
#define SSIVM_TOOLS_SSICTL_REMOTE_CLUSTER_H_

#include <string>

#include "tools/ssictl/cluster_hosts.h"

namespace ssivm {

struct RemoteOptions {
  std::string manifest;
  HostAccess access;
  std::string console = "stdio";  // node 0's console
  bool detach = false;            // up: return once every node runs
  bool json = false;              // status, migrate, pin, unpin: print JSON
  std::string kvm = "auto";       // up, every node on this machine: where they run
  // up: "on"/"off" overrides the manifest's `placement` (passed to every
  // node, so they agree); empty: the manifest's.
  std::string placement;
};

// Checks every host (all problems, then refuses), pushes the manifest and
// the guest image, starts every node; in the foreground waits for node 0
// and returns its exit status (Ctrl-C / SIGTERM stop every node).
int UpManifest(const RemoteOptions& options);

// Asks every node; prints each one's state and DSM summary. 0 if all run.
int StatusManifest(const RemoteOptions& options);

// Stops every node (killing one that does not stop) and reports per host.
// 0 if none is left running and every host answered.
int DownManifest(const RemoteOptions& options);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_REMOTE_CLUSTER_H_

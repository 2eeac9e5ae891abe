// `ssictl up` of a single node process: boots the VM and waits for it (`--nodes`,
// `--manifest` and `--domain` are cluster_up.h and remote_cluster.h).
#ifndef SSIVM_TOOLS_SSICTL_UP_H_
#define SSIVM_TOOLS_SSICTL_UP_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ssivm {

struct UpOptions {
  uint32_t vcpus = 2;
  uint64_t memory_mib = 256;
  std::string kernel;  // empty: the bundled ssivm guest kernel
  std::string initrd;
  std::string cmdline;
  std::string console = "stdio";
  std::string host_kind = "auto";
  std::string ssivm;         // empty: located next to ssictl
  std::string name;          // for ssictl status/down; empty: vm-<pid>
  std::string kvm = "auto";  // auto, host or emulated (tools/ssictl/emulated_up.h)
  // Automatic vCPU placement, "on" or "off"; empty: not given (on, or with a
  // manifest the manifest's `placement`).
  std::string placement;
};

// Checks the options (Error naming the bad one) and returns the ssivm argv.
std::vector<std::string> SsivmArgv(const UpOptions& opt);

// Runs ssivm, forwarding SIGINT/SIGTERM, and returns the status to exit with.
int Up(const UpOptions& opt);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_UP_H_

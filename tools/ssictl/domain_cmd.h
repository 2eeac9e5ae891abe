// `ssictl domain import VM.xml -o cluster.toml` and `ssictl dumpxml`: the
// aggregate VM in libvirt's domain XML (provision/domain).
#ifndef SSIVM_TOOLS_SSICTL_DOMAIN_CMD_H_
#define SSIVM_TOOLS_SSICTL_DOMAIN_CMD_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "tools/ssictl/remote_cluster.h"

namespace ssivm {

// `ssictl up --domain VM.xml`: the aggregate a libvirt domain describes.
// Cells placed by ssivm metadata or a nodes file run on those hosts; without
// either, every cell runs as a node process on this machine (loopback).
// The manifest is kept in the run directory (for status/down --manifest).
int UpDomain(const std::string& file, const std::string& nodes_file, RemoteOptions remote);

class DomainCommands {
 public:
  explicit DomainCommands(CLI::App& app);
  // After parsing: runs the selected command, returns its exit status (-1:
  // none selected). 0 done, 1 rejected input (libvirt's or ssivm's message).
  int Run();

 private:
  CLI::App* import_ = nullptr;
  CLI::App* dumpxml_ = nullptr;
  std::string domain_file_;
  std::string output_;
  std::string nodes_file_;
  uint16_t port_ = 7400;
  std::string manifest_ = "/etc/ssivm/cluster.toml";
};

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_DOMAIN_CMD_H_

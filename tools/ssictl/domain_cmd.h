// `ssictl domain import VM.xml -o cluster.toml` and `ssictl dumpxml`: the
// aggregate VM in libvirt's domain XML (provision/domain).
#ifndef SSIVM_TOOLS_SSICTL_DOMAIN_CMD_H_
#define SSIVM_TOOLS_SSICTL_DOMAIN_CMD_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace ssivm {

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

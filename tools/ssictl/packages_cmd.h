// `ssictl packages check SET.xml --packages DIR`: resolves an OSCAR package
// set against a directory of OSCAR packages (provision/packages).
#ifndef SSIVM_TOOLS_SSICTL_PACKAGES_CMD_H_
#define SSIVM_TOOLS_SSICTL_PACKAGES_CMD_H_

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace ssivm {

class PackagesCommands {
 public:
  explicit PackagesCommands(CLI::App& app);
  // After parsing: runs the selected command, returns its exit status (-1:
  // none selected). 0 resolvable, 1 not (reasons on stderr) or bad input.
  int Run();

 private:
  CLI::App* check_ = nullptr;
  std::string set_file_;
  std::vector<std::string> packages_dirs_;
  std::string dist_;  // "debian-11-x86_64"; default: from the set's file name
};

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_PACKAGES_CMD_H_

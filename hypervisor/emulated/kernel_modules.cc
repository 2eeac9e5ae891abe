#include "hypervisor/emulated/kernel_modules.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::emulated {

std::string ModuleName(std::string_view name_or_path) {
  std::string_view base = name_or_path.substr(name_or_path.rfind('/') + 1);
  for (std::string_view ext : {".ko.xz", ".ko.zst", ".ko.gz", ".ko"}) {
    if (base.size() > ext.size() && base.ends_with(ext)) {
      base.remove_suffix(ext.size());
      break;
    }
  }
  std::string name(base);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

std::vector<std::string> ModuleLoadOrder(std::string_view modules_dep,
                                         const std::vector<std::string>& wanted,
                                         std::string_view modules_builtin) {
  std::set<std::string> builtin;
  std::istringstream builtin_in{std::string(modules_builtin)};
  for (std::string path; std::getline(builtin_in, path);) {
    if (!path.empty()) builtin.insert(ModuleName(path));
  }
  std::map<std::string, std::pair<std::string, std::vector<std::string>>>
      deps;  // name -> path, deps
  std::istringstream in{std::string(modules_dep)};
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string path = line.substr(0, colon);
    std::istringstream words(line.substr(colon + 1));
    std::vector<std::string> d;
    for (std::string w; words >> w;) d.push_back(w);
    deps[ModuleName(path)] = {path, std::move(d)};
  }
  std::vector<std::string> order;
  std::set<std::string> done, visiting;
  std::function<void(const std::string&, const std::string&)> visit =
      [&](const std::string& name, const std::string& needed_by) {
        if (done.count(name) != 0 || visiting.count(name) != 0 || builtin.count(name) != 0) {
          return;
        }
        const auto it = deps.find(name);
        if (it == deps.end()) {
          throw Error(fmt::format("kernel module {}{} is not in modules.dep", name, needed_by));
        }
        visiting.insert(name);
        for (const std::string& d : it->second.second) {
          visit(ModuleName(d), fmt::format(" (needed by {})", name));
        }
        visiting.erase(name);
        done.insert(name);
        order.push_back(it->second.first);
      };
  for (const std::string& w : wanted) visit(ModuleName(w), "");
  return order;
}

}  // namespace ssivm::emulated

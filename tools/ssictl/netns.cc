#include "tools/ssictl/netns.h"

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"

namespace ssivm {

NetnsHosts::NetnsHosts(uint32_t count, const std::string& tag, uint8_t subnet)
    : tag_(tag), subnet_(subnet), bridge_("ssb-" + tag) {
  if (bridge_.size() > 15 || count == 0 || count > 250) {
    throw Error(fmt::format("bad network namespace set: {} hosts, tag '{}'", count, tag));
  }
  try {
    RunChecked({"ip", "link", "add", bridge_, "type", "bridge"});
    RunChecked({"ip", "link", "set", bridge_, "up"});
    for (uint32_t k = 0; k < count; ++k) {
      const std::string ns = fmt::format("ssivm-{}-{}", tag_, k);
      const std::string host_end = fmt::format("ssv{}-{}", tag_, k);
      const std::string ns_end = fmt::format("ssp{}-{}", tag_, k);
      RunChecked({"ip", "netns", "add", ns});
      namespaces_.push_back(ns);
      RunChecked({"ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end});
      links_.push_back(host_end);
      RunChecked({"ip", "link", "set", host_end, "master", bridge_});
      RunChecked({"ip", "link", "set", host_end, "up"});
      RunChecked({"ip", "link", "set", ns_end, "netns", ns});
      RunChecked({"ip", "-n", ns, "link", "set", "lo", "up"});
      RunChecked({"ip", "-n", ns, "link", "set", ns_end, "name", "eth0"});
      RunChecked({"ip", "-n", ns, "addr", "add", address(k) + "/24", "dev", "eth0"});
      RunChecked({"ip", "-n", ns, "link", "set", "eth0", "up"});
    }
  } catch (...) {
    Teardown();
    throw;
  }
}

NetnsHosts::~NetnsHosts() {
  Teardown();
}

void NetnsHosts::Teardown() {
  // The kernel destroys a deleted namespace (and the veth in it) later, in
  // the background: delete each veth pair explicitly so that its names are
  // free again at once.
  for (const std::string& link : links_) RunCommand({"ip", "link", "del", link});
  links_.clear();
  for (const std::string& ns : namespaces_) RunCommand({"ip", "netns", "del", ns});
  namespaces_.clear();
  if (!bridge_.empty()) RunCommand({"ip", "link", "del", bridge_});
  bridge_.clear();
}

std::string NetnsHosts::address(uint32_t k) const {
  return fmt::format("10.233.{}.{}", subnet_, k + 1);
}

std::vector<std::string> NetnsHosts::Exec(uint32_t k) const {
  return {"ip", "netns", "exec", namespaces_.at(k)};
}

}  // namespace ssivm

// Test and demo "hosts" on this machine: one network namespace per node,
// each with a veth link to a private bridge and its own IPv4 address, so
// node processes talk through real addresses. Everything created is removed
// by the destructor, also after a failure half way.
#ifndef SSIVM_TOOLS_SSICTL_NETNS_H_
#define SSIVM_TOOLS_SSICTL_NETNS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ssivm {

class NetnsHosts {
 public:
  // Creates `count` namespaces named ssivm-<tag>-<k> on bridge ssb-<tag>,
  // addresses 10.233.<subnet>.<k+1>/24. Throws Error naming the `ip`
  // command that failed (and removes what it already made).
  NetnsHosts(uint32_t count, const std::string& tag, uint8_t subnet);
  ~NetnsHosts();
  NetnsHosts(const NetnsHosts&) = delete;
  NetnsHosts& operator=(const NetnsHosts&) = delete;

  const std::string& ns(uint32_t k) const { return namespaces_[k]; }
  std::string address(uint32_t k) const;
  // argv prefix that runs a program inside host k's namespace.
  std::vector<std::string> Exec(uint32_t k) const;

 private:
  void Teardown();
  std::string tag_;
  uint8_t subnet_;
  std::string bridge_;
  std::vector<std::string> namespaces_;
  std::vector<std::string> links_;  // host ends of the veth pairs
};

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_NETNS_H_

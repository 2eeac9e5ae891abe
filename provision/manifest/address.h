// Host names and transport addresses as the manifest spells them.
#ifndef SSIVM_PROVISION_MANIFEST_ADDRESS_H_
#define SSIVM_PROVISION_MANIFEST_ADDRESS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ssivm::provision {

// Empty if host is a valid DNS name, IPv4 address or bracket-less IPv6
// address; otherwise what is wrong with it.
std::string CheckHost(std::string_view host);

struct Address {
  std::string host;  // without brackets
  uint16_t port = 0;
};

// Parses "host:port" or "[ipv6]:port". On failure returns false and sets *error.
bool ParseAddress(std::string_view text, Address* out, std::string* error);

// "host:port", bracketing IPv6 hosts.
std::string FormatAddress(std::string_view host, uint16_t port);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_MANIFEST_ADDRESS_H_

#include "provision/manifest/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace ssivm::provision {
namespace {

bool IsIpv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool IsIpv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool AllDigitsAndDots(std::string_view s) {
  for (char c : s) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  return true;
}

std::string CheckDnsName(std::string_view host) {
  if (host.size() > 253) return "host name longer than 253 characters";
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    std::string_view label = host.substr(start, dot - start);
    if (label.empty()) return "empty label in host name";
    if (label.size() > 63) return "host name label longer than 63 characters";
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok) return std::string("invalid character '") + c + "' in host name";
    }
    if (label.front() == '-' || label.back() == '-')
      return "host name label starts or ends with '-'";
    start = dot + 1;
  }
  return "";
}

}  // namespace

std::string CheckHost(std::string_view host) {
  if (host.empty()) return "empty host";
  std::string h(host);
  if (h.find(':') != std::string::npos) return IsIpv6(h) ? "" : "invalid IPv6 address";
  if (AllDigitsAndDots(h)) return IsIpv4(h) ? "" : "invalid IPv4 address";
  return CheckDnsName(host);
}

bool ParseAddress(std::string_view text, Address* out, std::string* error) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *error = "missing ']' after the IPv6 address";
      return false;
    }
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "missing ':port' after ']'";
      return false;
    }
    port = text.substr(close + 2);
    if (!IsIpv6(std::string(host))) {
      *error = "invalid IPv6 address";
      return false;
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "missing ':port' (expected host:port)";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *error = "IPv6 addresses must be written [address]:port";
      return false;
    }
    if (std::string e = CheckHost(host); !e.empty()) {
      *error = e;
      return false;
    }
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size()) {
    *error = "port '" + std::string(port) + "' is not a number";
    return false;
  }
  if (value < 1 || value > 65535) {
    *error = "port " + std::string(port) + " is out of range 1-65535";
    return false;
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(value);
  return true;
}

std::string FormatAddress(std::string_view host, uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

}  // namespace ssivm::provision

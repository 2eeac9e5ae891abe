// ClusterManifest -> deterministic TOML text, and saving it atomically.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/file.h"
#include "provision/manifest/manifest.h"

namespace ssivm::provision {
namespace {

// A TOML basic string.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string Write(const ClusterManifest& m) {
  std::string out;
  out += "# ssivm cluster manifest (format: README.md, \"Cluster manifest\").\n";
  out += "cluster_id = " + Quote(m.cluster_id) + "\n";
  out += "epoch = " + std::to_string(m.epoch) + "\n";
  out += "transport_security = " + Quote(cluster::SecurityName(m.transport_security)) + "\n";
  out += "heartbeat_timeout_ms = " + std::to_string(m.heartbeat_timeout_ms) + "\n";
  out += "placement = " + Quote(PlacementName(m.placement)) + "\n";
  out += "\n[guest]\n";
  if (!m.guest.kernel.empty()) out += "kernel = " + Quote(m.guest.kernel) + "\n";
  if (!m.guest.initrd.empty()) out += "initrd = " + Quote(m.guest.initrd) + "\n";
  out += "cmdline = " + Quote(m.guest.cmdline) + "\n";
  out += "vcpus_total = " + std::to_string(m.guest.vcpus_total) + "\n";
  out += "vcpus_online = " + std::to_string(m.guest.vcpus_online) + "\n";
  out += "page_size_kib = " + std::to_string(m.guest.page_size_kib) + "\n";
  for (const Node& n : m.nodes) {
    out += "\n[[nodes]]\n";
    out += "id = " + std::to_string(n.id) + "\n";
    out += "name = " + Quote(n.name) + "\n";
    out += "host = " + Quote(n.host) + "\n";
    out += "address = " + Quote(n.address) + "\n";
    out += "vcpus = { first = " + std::to_string(n.vcpus.first) +
           ", last = " + std::to_string(n.vcpus.last) + " }\n";
    out += "memory_mib = " + std::to_string(n.memory_mib) + "\n";
    // Only when set: manifests without it (automatic) keep their bytes.
    if (n.cache_mib != 0) out += "cache_mib = " + std::to_string(n.cache_mib) + "\n";
  }
  return out;
}

bool Save(const ClusterManifest& manifest, const std::string& path) {
  std::string text = Write(manifest);
  if (::access(path.c_str(), F_OK) == 0) {
    std::vector<uint8_t> old = ReadFileBytes(path, 4 << 20);
    if (std::string_view(reinterpret_cast<const char*>(old.data()), old.size()) == text) {
      return false;
    }
  }
  WriteFileAtomic(path, text, 0644);
  return true;
}

}  // namespace ssivm::provision

// The cluster manifest: which nodes form the aggregate VM and what the guest is.
// Parsed from and written to TOML (format: provision/examples/cluster.toml and
// README.md, "Cluster manifest"). Used by ssictl, the node process and the OSCAR
// package scripts alike.
#ifndef SSIVM_PROVISION_MANIFEST_MANIFEST_H_
#define SSIVM_PROVISION_MANIFEST_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/transport/security.h"

namespace ssivm::provision {

// Limits of the format (a full mesh of at most 64 nodes; see ARCHITECTURE.md).
inline constexpr uint32_t kMaxNodes = 64;
inline constexpr uint32_t kMaxVcpus = 4096;
inline constexpr uint64_t kMaxMemoryMib = uint64_t{16} << 20;  // 16 TiB per node
inline constexpr uint16_t kDefaultPort = 7400;

// The guest vCPUs a node hosts: first..last, inclusive.
struct VcpuRange {
  uint32_t first = 0;
  uint32_t last = 0;
  uint32_t count() const { return last - first + 1; }
  bool operator==(const VcpuRange&) const = default;
};

struct Node {
  uint32_t id = 0;      // stable for the node's lifetime in the cluster, 0..kMaxNodes-1
  std::string name;     // unique, [A-Za-z0-9._-]
  std::string host;     // where the node process runs (ssh destination)
  std::string address;  // transport address "host:port" ("[v6]:port")
  VcpuRange vcpus;
  uint64_t memory_mib = 0;  // guest RAM this node contributes
  // `cache_mib`: how much guest RAM homed on OTHER nodes this node may keep
  // resident (its cache of their pages); 0 (the key left out): automatic,
  // what the host can spare (hypervisor/node/cache_budget.h). At least
  // MinCacheMib(vcpus.count()).
  uint64_t cache_mib = 0;
  bool operator==(const Node&) const = default;
};

struct Guest {
  std::string kernel;  // empty: the bundled ssivm guest kernel
  std::string initrd;  // empty: none
  std::string cmdline;
  uint32_t vcpus_total = 0;
  uint32_t vcpus_online = 0;   // how many start online (vCPUs 0..online-1)
  uint32_t page_size_kib = 4;  // 4, 2048 or 1048576: every node's memory is a multiple
  bool operator==(const Guest&) const = default;
};

struct ClusterManifest {
  std::string cluster_id;
  uint64_t epoch = 1;  // bumped on every membership change
  // How nodes prove they belong and protect what they send; all but kNone
  // need the cluster secret, stored beside the manifest (secret.h).
  cluster::TransportSecurity transport_security = cluster::TransportSecurity::kEncrypted;
  // A node silent for this long is declared dead and the aggregate stops;
  // a fault or forwarded I/O waiting this long is reported.
  uint32_t heartbeat_timeout_ms = 5000;
  // `placement`: the coordinator (the device node) moves vCPUs by itself to
  // the node whose memory they keep pulling ("on", true), or only when an
  // operator says so ("off"). `ssivm --placement` overrides it.
  bool placement = true;
  Guest guest;
  std::vector<Node> nodes;
  bool operator==(const ClusterManifest&) const = default;

  uint64_t TotalMemoryMib() const;
  const Node* FindNode(uint32_t id) const;
  // The node with the lowest id: it hosts the devices and the console
  // (ids may have gaps). The manifest must have a node.
  uint32_t DeviceNodeId() const;
  const Node* FindNodeByName(std::string_view name) const;
};

// The smallest cache (`cache_mib`) a node hosting `vcpus` vCPUs runs with:
// 2 MiB per vCPU, at least 4 MiB. One vCPU instruction plus the kernel's walk
// of the guest page tables can need several pages of other nodes at once,
// and all of them must stay resident until it completes.
inline constexpr uint64_t kCacheMibPerVcpu = 2;
inline constexpr uint64_t kMinCacheMib = 4;
inline uint64_t MinCacheMib(uint32_t vcpus) {
  return vcpus * kCacheMibPerVcpu > kMinCacheMib ? vcpus * kCacheMibPerVcpu : kMinCacheMib;
}

// What is wrong with `cache_mib` for a node hosting `vcpus` vCPUs ("" if
// nothing: 0, automatic, is fine): beyond kMaxMemoryMib, or below
// MinCacheMib(vcpus), saying why.
std::string CacheMibProblem(uint64_t cache_mib, uint32_t vcpus);

// The TOML names of `placement`: "on" (true) and "off".
inline const char* PlacementName(bool automatic) {
  return automatic ? "on" : "off";
}
inline std::optional<bool> PlacementFromName(std::string_view name) {
  if (name == PlacementName(true)) return true;
  if (name == PlacementName(false)) return false;
  return std::nullopt;
}

// One problem found in a manifest: the key ("nodes[2].address") and what is wrong.
struct Problem {
  std::string key;
  std::string message;
  int line = 0;  // 1-based line in the file, 0 if unknown
};

// Every semantic problem of a manifest (empty: valid).
std::vector<Problem> Validate(const ClusterManifest& manifest);

// "FILE:LINE: KEY: MESSAGE" lines, one per problem.
std::string FormatProblems(std::string_view file_name, const std::vector<Problem>& problems);
// Throws Error listing every problem of `m` ("WHAT: key: problem" lines)
// unless it is valid.
void ThrowIfInvalid(const ClusterManifest& m, std::string_view what);

// Parses and validates TOML text. Throws ssivm::Error listing every problem,
// each naming file_name, the key and the problem.
ClusterManifest Parse(std::string_view text, const std::string& file_name);

// Reads and parses a manifest file.
ClusterManifest Load(const std::string& path);

// Deterministic TOML text: same manifest, same bytes. Parse(Write(m)) == m.
std::string Write(const ClusterManifest& manifest);

// Writes the file atomically (WriteFileAtomic: a new temporary file, never one
// planted at a guessable name, then renamed) unless it already holds exactly
// these bytes. Returns true if the file changed.
bool Save(const ClusterManifest& manifest, const std::string& path);

}  // namespace ssivm::provision

#endif  // SSIVM_PROVISION_MANIFEST_MANIFEST_H_

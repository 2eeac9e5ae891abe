#include "hypervisor/node/cluster_numa.h"

#include <string_view>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

void CheckNode(uint32_t node, uint32_t node_count, std::string_view what) {
  if (node >= node_count) {
    throw Error(fmt::format("NUMA layout: {} is on guest node {}, but there are {} nodes", what,
                            node, node_count));
  }
}

}  // namespace

std::vector<std::vector<uint8_t>> ClusterNodeDistances(uint32_t nodes) {
  std::vector<std::vector<uint8_t>> d(nodes, std::vector<uint8_t>(nodes, kRemoteNodeDistance));
  for (uint32_t i = 0; i < nodes; ++i) d[i][i] = kAcpiLocalDistance;
  return d;
}

AcpiNuma ClusterNuma(uint32_t node_count, std::span<const abi::MemRange> homes,
                     std::span<const uint8_t> vcpu_node) {
  if (node_count < 2) return {};
  AcpiNuma numa{.domains = std::vector<AcpiNumaDomain>(node_count),
                .distances = ClusterNodeDistances(node_count)};
  for (const abi::MemRange& r : homes) {
    CheckNode(r.home_node, node_count, fmt::format("memory at {:#x}", r.base));
    numa.domains[r.home_node].memory.push_back({.base = r.base, .size = r.size});
  }
  for (uint32_t v = 0; v < vcpu_node.size(); ++v) {
    CheckNode(vcpu_node[v], node_count, fmt::format("vCPU {}", v));
    numa.domains[vcpu_node[v]].apic_ids.push_back(v);
  }
  return numa;
}

}  // namespace ssivm

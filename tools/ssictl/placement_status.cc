#include "tools/ssictl/placement_status.h"

#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "tools/ssictl/answer_fields.h"

namespace ssivm {
namespace {

std::string VcpuLine(uint64_t vcpu, const nlohmann::json& v) {
  std::string line = fmt::format("vCPU {}", vcpu);
  if (const std::optional<uint64_t> node = Unsigned(v, "node")) {
    line += fmt::format(" on node {}", *node);
  }
  if (const std::optional<uint64_t> n = Unsigned(v, "migrations")) {
    line += fmt::format(", {} migration{}", *n, *n == 1 ? "" : "s");
  }
  if (const std::optional<uint64_t> pinned = Unsigned(v, "pinned")) {
    line += fmt::format(", pinned to node {}", *pinned);
  }
  const std::optional<std::string> reason = Text(v, "last_reason");
  if (reason) line += ", last: " + *reason;
  if (const std::optional<uint64_t> us = Unsigned(v, "last_downtime_us")) {
    line += (reason ? ", downtime " : ", last downtime ") + Millis(*us);
  }
  return line;
}

}  // namespace

std::vector<std::string> PlacementLines(const nlohmann::json& status) {
  const nlohmann::json& placement = Field(status, "placement");
  if (!placement.is_object()) return {};
  const std::optional<bool> automatic = Flag(placement, "automatic");
  std::vector<std::string> lines = {fmt::format("placement: {}", !automatic   ? "not reported"
                                                                 : *automatic ? "automatic"
                                                                              : "off")};
  const nlohmann::json& vcpus = Field(placement, "vcpus");
  if (!vcpus.is_array()) return lines;
  for (const nlohmann::json& v : vcpus) {
    if (const std::optional<uint64_t> vcpu = Unsigned(v, "vcpu")) {
      lines.push_back(VcpuLine(*vcpu, v));
    }
  }
  return lines;
}

}  // namespace ssivm

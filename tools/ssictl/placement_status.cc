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

// "placement costs: a remote fault 96 us (median of 5123 faults), a move
// 1.200 ms (median downtime 1.100 ms of 3 moves + 2.0 pages pulled back)";
// "(prior)" where nothing was measured yet. Empty without costs.
std::string CostsLine(const nlohmann::json& costs) {
  const std::optional<uint64_t> fault_us = Unsigned(costs, "page_fault_us");
  const std::optional<uint64_t> move_us = Unsigned(costs, "vcpu_move_us");
  if (!fault_us || !move_us) return "";
  const uint64_t faults = Count(costs, "faults");
  const uint64_t moves = Count(costs, "moves");
  std::string line = fmt::format("placement costs: a remote fault {} us ({}), a move {}", *fault_us,
                                 faults == 0 ? "prior" : fmt::format("median of {} faults", faults),
                                 Millis(*move_us));
  if (moves == 0) return line + " (prior)";
  line += fmt::format(" (median downtime {} of {} move{}", Millis(Count(costs, "downtime_us")),
                      moves, moves == 1 ? "" : "s");
  const nlohmann::json& pages = Field(costs, "pull_back_pages");
  if (Count(costs, "pull_backs") > 0 && pages.is_number()) {
    line += fmt::format(" + {:.1f} pages pulled back", pages.get<double>());
  }
  return line + ")";
}

}  // namespace

std::vector<std::string> PlacementLines(const nlohmann::json& status) {
  const nlohmann::json& placement = Field(status, "placement");
  if (!placement.is_object()) return {};
  const std::optional<bool> automatic = Flag(placement, "automatic");
  std::vector<std::string> lines = {fmt::format("placement: {}", !automatic   ? "not reported"
                                                                 : *automatic ? "automatic"
                                                                              : "off")};
  if (std::string costs = CostsLine(Field(placement, "costs")); !costs.empty()) {
    lines.push_back(std::move(costs));
  }
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

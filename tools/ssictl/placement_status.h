// The "placement" section of node 0's status answer (where each vCPU runs,
// how often it moved and why, which are pinned) as `ssictl status` shows it.
#ifndef SSIVM_TOOLS_SSICTL_PLACEMENT_STATUS_H_
#define SSIVM_TOOLS_SSICTL_PLACEMENT_STATUS_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ssivm {

// "placement: automatic" (or "off"), then one line per vCPU, e.g. "vCPU 1
// on node 1, 3 migrations, pinned to node 1, last: operator (ssictl
// migrate), downtime 1.234 ms"; what the answer lacks (or has with the wrong
// type) is left out. None for an answer without the section (other nodes).
std::vector<std::string> PlacementLines(const nlohmann::json& status);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_PLACEMENT_STATUS_H_

// The DSM's counters as the node reports them, listed once: the guest reads
// them through the PV info device, `ssictl status` gets them as JSON, and
// the node logs them when it stops.
#ifndef SSIVM_HYPERVISOR_NODE_DSM_COUNTERS_H_
#define SSIVM_HYPERVISOR_NODE_DSM_COUNTERS_H_

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dsm/fault/fault_engine.h"

namespace ssivm {

// The counter behind a PV info key; nullopt if the key is not a DSM counter.
std::optional<uint64_t> DsmCounterForInfoKey(const dsm::DsmStats& s, uint32_t key);

// {"read_faults": N, ..., "fault_latency": "..."} for `ssictl status`.
nlohmann::json DsmCountersJson(const dsm::DsmStats& s);

// "N read faults, N write faults, ..." for the log.
std::string DsmCountersLine(const dsm::DsmStats& s);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_DSM_COUNTERS_H_

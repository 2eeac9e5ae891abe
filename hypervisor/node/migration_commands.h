// The coordinator's control-socket commands for vCPU migration (ssictl
// migrate, pin, unpin) and the placement part of its status answer.
#ifndef SSIVM_HYPERVISOR_NODE_MIGRATION_COMMANDS_H_
#define SSIVM_HYPERVISOR_NODE_MIGRATION_COMMANDS_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hypervisor/node/control_server.h"
#include "hypervisor/node/vcpu_migrator.h"
#include "migrate/cost_model.h"

namespace ssivm {

// Adds "migrate" {vcpu, to}, "pin" {vcpu, node} and "unpin" {vcpu} to
// `handlers`. A missing or mistyped field is an Error naming it; so is
// anything the migrator refuses.
void AddMigrationCommands(ControlHandlers& handlers, VcpuMigrator& migrator);

// {"automatic": bool, "costs": {page_fault_us, vcpu_move_us, faults,
// moves, downtime_us, pull_backs, pull_back_pages}, "vcpus": [{vcpu, node,
// migrations, pinned?, last_reason?, last_downtime_us?}]}; times in whole
// us; faults, moves and pull_backs: what the costs rest on (0: the prior).
// This node's side of the moves: {"sent", "sent_while_faulting",
// "received", "interrupts_held", "interrupts_passed_on"}, and the same as a
// line for the log.
nlohmann::json MigrationJson(const MigrationCounters& c, const ClusterLink& link);
std::string MigrationLine(const MigrationCounters& c, const ClusterLink& link);

nlohmann::json PlacementJson(const std::vector<VcpuPlacementState>& vcpus, bool automatic,
                             const migrate::CostEvidence& costs);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_MIGRATION_COMMANDS_H_

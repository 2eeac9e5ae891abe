// The coordinator's control-socket commands for vCPU migration (ssictl
// migrate, pin, unpin) and the placement part of its status answer.
#ifndef SSIVM_HYPERVISOR_NODE_MIGRATION_COMMANDS_H_
#define SSIVM_HYPERVISOR_NODE_MIGRATION_COMMANDS_H_

#include <vector>

#include <nlohmann/json.hpp>

#include "hypervisor/node/control_server.h"
#include "hypervisor/node/vcpu_migrator.h"

namespace ssivm {

// Adds "migrate" {vcpu, to}, "pin" {vcpu, node} and "unpin" {vcpu} to
// `handlers`. A missing or mistyped field is an Error naming it; so is
// anything the migrator refuses.
void AddMigrationCommands(ControlHandlers& handlers, VcpuMigrator& migrator);

// {"automatic": bool, "vcpus": [{vcpu, node, migrations, pinned?,
// last_reason?, last_downtime_us?}]}
nlohmann::json PlacementJson(const std::vector<VcpuPlacementState>& vcpus, bool automatic);

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_MIGRATION_COMMANDS_H_

#include "hypervisor/node/migration_commands.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {
namespace {

uint32_t Field(const nlohmann::json& request, const char* name) {
  const auto it = request.find(name);
  if (it == request.end() || !it->is_number_unsigned() || it->get<uint64_t>() > UINT32_MAX) {
    throw Error(fmt::format("the request needs a field \"{}\" (a number from 0)", name));
  }
  return it->get<uint32_t>();
}

// Whole microseconds: what ssictl reads.
uint64_t Micros(double us) {
  return static_cast<uint64_t>(std::llround(std::max(us, 0.0)));
}

nlohmann::json Moved(const MigrationOutcome& m) {
  return {{"ok", true},
          {"vcpu", m.vcpu},
          {"from", m.from},
          {"to", m.to},
          {"downtime_us", Micros(m.downtime_us)},
          {"total_us", Micros(m.total_us)},
          {"state_bytes", m.state_bytes},
          {"phases_us",
           {{"capture", Micros(m.capture_us)},
            {"transfer", Micros(m.transfer_us)},
            {"restore", Micros(m.restore_us)}}}};
}

}  // namespace

void AddMigrationCommands(ControlHandlers& handlers, VcpuMigrator& migrator) {
  handlers.commands["migrate"] = [&migrator](const nlohmann::json& r) {
    return Moved(migrator.Migrate(Field(r, "vcpu"), Field(r, "to"), "operator (ssictl migrate)"));
  };
  handlers.commands["pin"] = [&migrator](const nlohmann::json& r) {
    const uint32_t vcpu = Field(r, "vcpu");
    const uint32_t node = Field(r, "node");
    const std::optional<MigrationOutcome> m = migrator.PinTo(vcpu, node);
    // Moved there first: the move's answer.
    nlohmann::json answer = m ? Moved(*m) : nlohmann::json{{"ok", true}, {"vcpu", vcpu}};
    answer["node"] = node;
    answer["moved"] = m.has_value();
    return answer;
  };
  handlers.commands["unpin"] = [&migrator](const nlohmann::json& r) {
    const uint32_t vcpu = Field(r, "vcpu");
    migrator.Unpin(vcpu);
    return nlohmann::json{{"ok", true}, {"vcpu", vcpu}};
  };
}

nlohmann::json MigrationJson(const MigrationCounters& c, const ClusterLink& link) {
  const ClusterLink::MoveInterrupts i = link.move_interrupts();
  return {{"sent", c.sent},
          {"sent_while_faulting", c.sent_while_faulting},
          {"received", c.received},
          {"interrupts_held", i.held},
          {"interrupts_passed_on", i.passed_on}};
}

std::string MigrationLine(const MigrationCounters& c, const ClusterLink& link) {
  const ClusterLink::MoveInterrupts i = link.move_interrupts();
  return fmt::format(
      "migration: {} vCPUs sent ({} asked while waiting for a remote page), {} received; "
      "interrupts: {} held for an arriving vCPU, {} passed on after their vCPU left",
      c.sent, c.sent_while_faulting, c.received, i.held, i.passed_on);
}

nlohmann::json PlacementJson(const std::vector<VcpuPlacementState>& vcpus, bool automatic,
                             const migrate::CostEvidence& costs) {
  nlohmann::json list = nlohmann::json::array();
  for (const VcpuPlacementState& s : vcpus) {
    nlohmann::json v = {{"vcpu", s.vcpu}, {"node", s.node}, {"migrations", s.migrations}};
    if (s.pinned) v["pinned"] = *s.pinned;
    if (!s.last_reason.empty()) {
      v["last_reason"] = s.last_reason;
      v["last_downtime_us"] = Micros(s.last_downtime_us);
    }
    list.push_back(v);
  }
  const nlohmann::json cost = {{"page_fault_us", Micros(costs.costs.page_fault_us)},
                               {"vcpu_move_us", Micros(costs.costs.vcpu_move_us)},
                               {"faults", costs.faults},
                               {"moves", costs.moves},
                               {"downtime_us", Micros(costs.downtime_us)},
                               {"pull_backs", costs.pull_backs},
                               {"pull_back_pages", costs.pull_back_pages}};
  return {{"automatic", automatic}, {"costs", cost}, {"vcpus", list}};
}

}  // namespace ssivm

#include "tools/ssictl/vcpu_answer.h"

#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "hypervisor/node/control_client.h"
#include "tools/ssictl/answer_fields.h"

namespace ssivm {
namespace {

constexpr size_t kMaxQuoted = 200;  // of an unclear answer, in the error

// "downtime 0.950 ms (capture 0.120 ms, transfer 0.310 ms, restore 0.520
// ms)", without the phases the answer does not have; "" without a downtime.
std::string Downtime(const nlohmann::json& a) {
  const std::optional<uint64_t> us = Unsigned(a, "downtime_us");
  if (!us) return "";
  std::string text = "downtime " + Millis(*us);
  std::string phases;
  for (const char* phase : {"capture", "transfer", "restore"}) {
    if (const std::optional<uint64_t> p = Unsigned(Field(a, "phases_us"), phase)) {
      phases += fmt::format("{}{} {}", phases.empty() ? "" : ", ", phase, Millis(*p));
    }
  }
  return phases.empty() ? text : text + " (" + phases + ")";
}

std::string Moved(const VcpuRequest& r, const nlohmann::json& a) {
  std::string line = fmt::format("vCPU {} moved", Unsigned(a, "vcpu").value_or(r.vcpu));
  if (const std::optional<uint64_t> from = Unsigned(a, "from")) {
    line += fmt::format(" from node {}", *from);
  }
  line += fmt::format(" to node {}", Unsigned(a, "to").value_or(r.node));
  if (const std::string downtime = Downtime(a); !downtime.empty()) line += ": " + downtime;
  if (const std::optional<uint64_t> us = Unsigned(a, "total_us")) {
    line += fmt::format(" (request {})", Millis(*us, 1));
  }
  return line;
}

std::string Pinned(const VcpuRequest& r, const nlohmann::json& a) {
  std::string line = fmt::format("vCPU {} pinned to node {}", Unsigned(a, "vcpu").value_or(r.vcpu),
                                 Unsigned(a, "node").value_or(r.node));
  const std::optional<bool> moved = Flag(a, "moved");
  if (moved == false) return line + " (already there)";
  if (moved == true) {
    line += ": moved there";
    if (const std::string downtime = Downtime(a); !downtime.empty()) line += ", " + downtime;
  }
  return line;
}

}  // namespace

const char* CommandName(VcpuRequest::Kind kind) {
  switch (kind) {
    case VcpuRequest::Kind::kMigrate:
      return "migrate";
    case VcpuRequest::Kind::kPin:
      return "pin";
    case VcpuRequest::Kind::kUnpin:
      break;
  }
  return "unpin";
}

nlohmann::json RequestJson(const VcpuRequest& r) {
  nlohmann::json j = {{"cmd", CommandName(r.kind)}, {"vcpu", r.vcpu}};
  if (r.kind == VcpuRequest::Kind::kMigrate) j["to"] = r.node;
  if (r.kind == VcpuRequest::Kind::kPin) j["node"] = r.node;
  return j;
}

std::string DescribeAnswer(const VcpuRequest& r, const nlohmann::json& answer) {
  if (const std::optional<std::string> e = AnswerError(answer)) throw Error(*e);
  if (Flag(answer, "ok") != true) {
    std::string quoted = answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (quoted.size() > kMaxQuoted) quoted = quoted.substr(0, kMaxQuoted) + "...";
    throw Error(fmt::format(
        R"(node 0 gave no clear answer to {} (neither "ok": true nor an "error" text): {})",
        CommandName(r.kind), quoted));
  }
  switch (r.kind) {
    case VcpuRequest::Kind::kMigrate:
      return Moved(r, answer);
    case VcpuRequest::Kind::kPin:
      return Pinned(r, answer);
    case VcpuRequest::Kind::kUnpin:
      break;
  }
  return fmt::format("vCPU {} unpinned: automatic placement may move it again",
                     Unsigned(answer, "vcpu").value_or(r.vcpu));
}

}  // namespace ssivm

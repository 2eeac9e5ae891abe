// `ssictl migrate|pin|unpin`: the request node 0 gets, and what ssictl makes
// of its answer. Pure logic: vcpu_cmd.cc sends and prints.
#ifndef SSIVM_TOOLS_SSICTL_VCPU_ANSWER_H_
#define SSIVM_TOOLS_SSICTL_VCPU_ANSWER_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ssivm {

struct VcpuRequest {
  enum class Kind { kMigrate, kPin, kUnpin };
  Kind kind = Kind::kMigrate;
  uint32_t vcpu = 0;
  uint32_t node = 0;  // migrate: where to; pin: where to keep it; unpin: unused
};

// "migrate", "pin" or "unpin".
const char* CommandName(VcpuRequest::Kind kind);

// {"cmd":"migrate","vcpu":V,"to":N}, {"cmd":"pin","vcpu":V,"node":N} or
// {"cmd":"unpin","vcpu":V}.
nlohmann::json RequestJson(const VcpuRequest& request);

// The line ssictl prints for node 0's answer, e.g. "vCPU 1 moved from node 0
// to node 1: downtime 1.234 ms (request 5.6 ms)". An {"error": "..."} answer
// throws Error with the node's words; one with neither that nor "ok": true
// throws Error naming the problem. Fields of an "ok" answer that are missing
// or of the wrong type are left out (the request's vCPU and node stand in).
std::string DescribeAnswer(const VcpuRequest& request, const nlohmann::json& answer);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_VCPU_ANSWER_H_

// Fuzz target: one request line on a node's control socket, as any local
// client may send it. HandleControlRequest never throws: every line gets one
// JSON object back ({"error": ...} for bad input).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "hypervisor/node/control_server.h"
#include "tests/support/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ssivm::ControlHandlers handlers;
  handlers.status = [] { return nlohmann::json{{"node", 0}, {"vcpus", {0, 1}}, {"exits", 42}}; };
  handlers.stop = [] {};
  const std::string answer =
      ssivm::HandleControlRequest(std::string(ssivm::fuzz::Text(data, size)), handlers);
  const nlohmann::json j = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  ssivm::fuzz::Check(j.is_object(), "the answer is one JSON object");
  return 0;
}

// Fuzz target: a node's answer to {"cmd": "status"} as `ssictl status` reads
// and shows it: ParseControlAnswer, then its table columns and detail lines
// (latency, links, pages pulled, node 0's placement).
// A bad answer is rejected with Error (ssictl prints it); any other
// exception is a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "hypervisor/node/control_client.h"
#include "tests/support/fuzz.h"
#include "tools/ssictl/run_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json status =
        ssivm::ParseControlAnswer(std::string(ssivm::fuzz::Text(data, size)), "node0.sock");
    (void)ssivm::NodeStatsColumns(status);
    (void)ssivm::NodeDetailLines(status);
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
  return 0;
}

// Fuzz target: a node's answer as ssictl reads and shows it: to
// {"cmd": "status"} as `ssictl status` does (ParseControlAnswer, then its
// table columns and detail lines: latency, links, pages pulled, node 0's
// placement), and to migrate, pin and unpin (DescribeAnswer). A bad answer
// is rejected with Error (ssictl prints it); any other exception is a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "hypervisor/node/control_client.h"
#include "tests/support/fuzz.h"
#include "tools/ssictl/run_state.h"
#include "tools/ssictl/vcpu_answer.h"

namespace {

void ShowStatus(const std::string& text) {
  try {
    const nlohmann::json status = ssivm::ParseControlAnswer(text, "node0.sock");
    (void)ssivm::NodeStatsColumns(status);
    (void)ssivm::NodeDetailLines(status);
  } catch (const ssivm::Error&) {
    // Rejected, as it should be.
  }
}

void DescribeVcpuAnswers(const std::string& text) {
  const nlohmann::json answer = nlohmann::json::parse(text, nullptr, false);
  if (answer.is_discarded()) return;
  for (const ssivm::VcpuRequest::Kind kind :
       {ssivm::VcpuRequest::Kind::kMigrate, ssivm::VcpuRequest::Kind::kPin,
        ssivm::VcpuRequest::Kind::kUnpin}) {
    try {
      (void)ssivm::DescribeAnswer({kind, 1, 2}, answer);
    } catch (const ssivm::Error&) {
      // A refusal or an unclear answer: ssictl prints it.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(ssivm::fuzz::Text(data, size));
  ShowStatus(text);
  DescribeVcpuAnswers(text);
  return 0;
}

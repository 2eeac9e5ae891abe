#include "guest/kernel/options.h"

#include <stdint.h>

#include "guest/abi/pv_devices.h"
#include "guest/kernel/console.h"
#include "guest/kernel/power.h"
#include "guest/lib/cmdline.h"

namespace ssivm::guest {
namespace {

enum class Fault { kNone, kInvalidOpcode };

struct Options {
  uint32_t exit_status = abi::kExitSuccess;
  Fault fault = Fault::kNone;
  bool echo = false;  // read one console line and print it back
};

[[noreturn]] void Reject(const char* what, const CmdlineOption& option) {
  console::Printf("ssivm: %s %.*s\n", what, option.token.Len(), option.token.data);
  PowerOff(abi::kExitFailure);
}

// Parses every option before acting on any, so a typo anywhere is reported.
Options Parse(const char* cmdline, size_t max_size) {
  Options options;
  CmdlineTokenizer tokenizer(cmdline, max_size);
  CmdlineOption option;
  while (tokenizer.Next(&option)) {
    if (!option.key.StartsWith("ssi.")) continue;
    if (option.key == "ssi.exit") {
      uint64_t status;
      if (!ParseU64(option.value, &status) || status > UINT32_MAX)
        Reject("bad value in option", option);
      options.exit_status = static_cast<uint32_t>(status);
    } else if (option.key == "ssi.echo") {
      if (option.value != "1") Reject("bad value in option", option);
      options.echo = true;
    } else if (option.key == "ssi.fault") {
      if (option.value != "ud") Reject("bad value in option", option);
      options.fault = Fault::kInvalidOpcode;
    } else {
      Reject("unknown option", option);
    }
  }
  return options;
}

}  // namespace

void RunCommandLine(const char* cmdline, size_t max_size) {
  const Options options = Parse(cmdline, max_size);
  if (options.fault == Fault::kInvalidOpcode) {
    // The IDT has no #UD (nor #GP, #DF) gate: the CPU escalates to a triple
    // fault and KVM reports a shutdown to the VMM.
    asm volatile("ud2");
    Panic("ssi.fault=ud: survived ud2");
  }
  if (options.echo) {
    console::Printf("ssivm: type a line\n");
    char line[128];
    console::ReadLine(line, sizeof(line));
    console::Printf("echo: %s\n", line);
  }
  console::Printf("ssivm: powering off (status %u)\n", options.exit_status);
  PowerOff(options.exit_status);
}

}  // namespace ssivm::guest

#include "guest/kernel/options.h"

#include "guest/abi/pv_devices.h"
#include "guest/kernel/console.h"
#include "guest/kernel/power.h"
#include "guest/kernel/shell.h"
#include "guest/kernel/workloads/workload.h"
#include "guest/lib/cmdline.h"

namespace ssivm::guest {
namespace {

[[noreturn]] void Reject(const char* what, const CmdlineOption& option) {
  console::Printf("ssivm: %s %.*s\n", what, option.token.Len(), option.token.data);
  PowerOff(abi::kExitFailure);
}

// Splits `text` at `sep` into pieces; calls fn(piece) for each.
template <typename Fn>
void ForEachPiece(StrView text, char sep, Fn fn) {
  size_t start = 0;
  for (size_t i = 0; i <= text.size; ++i) {
    if (i == text.size || text.data[i] == sep) {
      fn(StrView(text.data + start, i - start));
      start = i + 1;
    }
  }
}

// One ssi.run item: `name[:arg[:arg…]]`.
void ParseRunItem(StrView item, StrView* name, workloads::Args* args) {
  bool first = true;
  args->argc = 0;
  ForEachPiece(item, ':', [&](StrView piece) {
    if (first) {
      *name = piece;
      first = false;
    } else if (args->argc < workloads::kMaxArgs) {
      args->argv[args->argc++] = piece;
    }
  });
}

bool ValidRunList(StrView list) {
  bool ok = !list.empty();
  ForEachPiece(list, ',', [&](StrView item) {
    StrView name;
    workloads::Args args;
    ParseRunItem(item, &name, &args);
    if (workloads::Find(name) == nullptr) ok = false;
  });
  return ok;
}

bool IsFaultKind(StrView kind) {
  return kind == "ud" || kind == "de" || kind == "pf" || kind == "gp";
}

}  // namespace

Options ParseOptions(const char* cmdline, size_t max_size) {
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
      options.triple_fault = true;
    } else if (option.key == "ssi.panic") {
      if (!IsFaultKind(option.value)) Reject("bad value in option", option);
      options.panic_kind = option.value;
    } else if (option.key == "ssi.run") {
      if (!ValidRunList(option.value)) Reject("unknown workload in option", option);
      options.run = option.value;
    } else if (option.key == "ssi.shell") {
      if (option.value != "1") Reject("bad value in option", option);
      options.shell = true;
    } else if (option.key == "ssi.password") {
      if (!option.has_value) Reject("bad value in option", option);
      options.password = option.value;
    } else {
      Reject("unknown option", option);
    }
  }
  return options;
}

void RunEarlyOptions(const Options& options) {
  if (options.triple_fault) {
    // The IDT is still all zero: #UD finds no gate, neither does the #GP
    // that raises nor the #DF after it, and KVM reports a shutdown.
    asm volatile("ud2");
    Panic("ssi.fault=ud: survived ud2");
  }
}

void RunOptions(const Options& options) {
  if (!options.panic_kind.empty()) {
    TriggerFault(options.panic_kind);
    Panic("ssi.panic=%.*s: survived the fault", options.panic_kind.Len(), options.panic_kind.data);
  }
  if (options.echo) {
    console::Printf("ssivm: type a line\n");
    char line[128];
    console::ReadLine(line, sizeof(line));
    console::Printf("echo: %s\n", line);
  }
  uint32_t status = options.exit_status;
  if (!options.run.empty()) {
    uint32_t failed = 0, total = 0;
    ForEachPiece(options.run, ',', [&](StrView item) {
      StrView name;
      workloads::Args args;
      ParseRunItem(item, &name, &args);
      ++total;
      if (!workloads::Find(name)->run(args)) ++failed;
    });
    console::Printf("ssivm: %u of %u workloads passed\n", total - failed, total);
    status = failed == 0 ? abi::kExitSuccess : abi::kExitFailure;
  }
  if (options.shell) RunShell(options.password);
  console::Printf("ssivm: powering off (status %u)\n", status);
  PowerOff(status);
}

}  // namespace ssivm::guest

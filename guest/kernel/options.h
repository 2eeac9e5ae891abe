// The kernel command line's ssivm options (ssi.*); other options, meant for
// a Linux guest on the same command line, are ignored.
//
//   ssi.exit=<n>        power off with status n when done (default 0)
//   ssi.fault=ud        UD2 before the IDT exists: the VMM sees a triple fault
//   ssi.panic=<kind>    raise exception ud|de|pf|gp once up: panic report
//   ssi.echo=1          read one console line, print "echo: <line>"
//   ssi.run=<w>[:a:b],… run the named workloads (args separated by ':'),
//                       power off with 0 if every one passed, else 1
//   ssi.shell=1         log-in shell on the console (ends with `poweroff`)
//   ssi.password=<p>    the shell's password (default: none, open login)
// An unknown ssi.* option or a bad value powers off with status 1.
#ifndef SSIVM_GUEST_KERNEL_OPTIONS_H_
#define SSIVM_GUEST_KERNEL_OPTIONS_H_

#include <stddef.h>
#include <stdint.h>

#include "guest/lib/string.h"

namespace ssivm::guest {

struct Options {
  uint32_t exit_status = 0;
  bool triple_fault = false;
  StrView panic_kind;
  bool echo = false;
  StrView run;
  bool shell = false;
  StrView password;
};

// Boot vCPU. Parses every option before acting on any, so a typo anywhere
// is reported (and powers off with status 1).
Options ParseOptions(const char* cmdline, size_t max_size);
// Boot vCPU, before the IDT is filled: ssi.fault=ud.
void RunEarlyOptions(const Options& options);
// The main thread: does what the options ask, then powers off.
[[noreturn]] void RunOptions(const Options& options);

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_OPTIONS_H_

// The kernel command line's ssivm options (ssi.*); other options, meant for
// a Linux guest on the same command line, are ignored.
#ifndef SSIVM_GUEST_KERNEL_OPTIONS_H_
#define SSIVM_GUEST_KERNEL_OPTIONS_H_

#include <stddef.h>

namespace ssivm::guest {

// Boot vCPU, once the kernel is up: does what the options ask and powers
// off. ssi.exit=<n> (default 0): power off with status n. ssi.fault=ud:
// execute UD2 with no handler, so the VMM sees a triple fault. ssi.echo=1:
// read one console line and print it back as "echo: <line>" first. An unknown
// ssi.* option or a bad value powers off with status 1.
[[noreturn]] void RunCommandLine(const char* cmdline, size_t max_size);

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_OPTIONS_H_

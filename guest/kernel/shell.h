// The console shell: a login prompt (password from ssi.password, none by
// default), then commands until `poweroff`.
#ifndef SSIVM_GUEST_KERNEL_SHELL_H_
#define SSIVM_GUEST_KERNEL_SHELL_H_

#include "guest/lib/string.h"

namespace ssivm::guest {

// `password` empty: any login is accepted. Returns only by powering off.
[[noreturn]] void RunShell(StrView password);

// Triggers a deliberate CPU exception of `kind` (ud, de, pf, gp); returns
// false for an unknown kind. The panic report follows.
bool TriggerFault(StrView kind);

}  // namespace ssivm::guest

#endif  // SSIVM_GUEST_KERNEL_SHELL_H_

// `ssictl console SOCKET`: attaches this terminal to a guest console socket.
#ifndef SSIVM_TOOLS_SSICTL_CONSOLE_CLIENT_H_
#define SSIVM_TOOLS_SSICTL_CONSOLE_CLIENT_H_

#include <string>

namespace ssivm {

// Bridges stdin/stdout and the socket until the VM closes it (returns 0) or
// the user types Ctrl-A x (detach, returns 0). Throws Error if it cannot
// connect, naming the socket.
int AttachConsole(const std::string& socket_path);

}  // namespace ssivm

#endif  // SSIVM_TOOLS_SSICTL_CONSOLE_CLIENT_H_

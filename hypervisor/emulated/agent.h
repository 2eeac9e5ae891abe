// The agent: pid 1 of the emulated machine once init has mounted the
// host's files. It finishes setting the machine up (terminals, loopback,
// KVM), tells the supervisor it is ready, runs the one command it is asked
// to (with a pseudo-terminal or pipes), relays its stdio, signals and the
// connections the supervisor forwards to Unix sockets inside, reports its
// exit status, and powers the machine off.
//
// The agent is the program that started the machine (ssivm, ssictl, hwkvm,
// a test), run again inside with kAgentFlag: the host's root is visible at
// the same paths, so no separate binary has to be found.
#ifndef SSIVM_HYPERVISOR_EMULATED_AGENT_H_
#define SSIVM_HYPERVISOR_EMULATED_AGENT_H_

namespace ssivm::emulated {

inline constexpr char kAgentFlag[] = "--hwkvm-agent";

// Runs the agent (never returns) if argv[1] is kAgentFlag; else returns.
// Call first thing in main() of every program that can start the machine.
void RunAgentIfAsked(int argc, char** argv);

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_AGENT_H_

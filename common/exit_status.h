// The exit statuses of ssivm, ssictl and hwkvm, in one place (README, "Using
// it", lists them for users). A guest's own status (0..122) passes through.
#ifndef SSIVM_COMMON_EXIT_STATUS_H_
#define SSIVM_COMMON_EXIT_STATUS_H_

namespace ssivm {

inline constexpr int kExitCheckFailed = 1;    // ssictl: a manifest or package check found problems
inline constexpr int kExitUsage = 2;          // bad command line
inline constexpr int kExitGuestReboot = 123;  // the guest asked for a reset
inline constexpr int kExitGuestCrash = 124;   // triple fault, KVM internal error
inline constexpr int kExitVmmError = 125;     // could not start or run (VMM, machine, tool)
inline constexpr int kExitPeerLost = 126;     // a node died or broke the protocol
inline constexpr int kExitCannotRun = 127;    // hwkvm run: the command could not be started
inline constexpr int kExitSignalBase = 128;   // + N: stopped by signal N
inline constexpr int kExitConsoleStop = 130;  // stopped from the console (Ctrl-A x)

// A child's wait status as an exit status: its exit code, or 128 + the
// signal that killed it (kExitVmmError if neither).
int ExitStatusOf(int wait_status);

}  // namespace ssivm

#endif  // SSIVM_COMMON_EXIT_STATUS_H_

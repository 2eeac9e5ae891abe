// The supervisor: the host side of the emulated hardware-KVM machine. It
// boots QEMU (pure emulation, an SVM CPU; Debian's kernel with kvm_amd),
// shares the host's files into it, runs one command there through the
// agent, and relays that command's terminal or stdio, signals, window size,
// and connections to forwarded Unix sockets, until the command exits. The
// command's exit status becomes the run's.
#ifndef SSIVM_HYPERVISOR_EMULATED_SUPERVISOR_H_
#define SSIVM_HYPERVISOR_EMULATED_SUPERVISOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/exit_status.h"
#include "hypervisor/emulated/channel_protocol.h"
#include "hypervisor/emulated/l1_packages.h"

namespace ssivm::emulated {

struct MachineOptions {
  uint32_t cpus = 2;
  uint64_t memory_mib = 2048;
  std::string cache_dir;  // empty: DefaultCacheDir()
  bool offline = false;   // never download packages
  // Host directories the command may write: mounted read-write at the same
  // paths (everything else is the host's root, read-only, with L1's writes
  // going to a throwaway tmpfs).
  std::vector<std::string> rw_dirs;
  // Directories that start empty inside the machine (a tmpfs over the
  // host's), e.g. a run directory whose state belongs to the host. /run
  // always does.
  std::vector<std::string> private_dirs;
  // Unix socket paths the supervisor listens on here; each connection is
  // relayed to the socket at the same path inside the machine.
  std::vector<std::string> forward_sockets;
  // kvm_amd's nested paging (npt) inside. Shadow paging (false) hangs the
  // whole machine under QEMU 7.2 within minutes of DSM traffic (see
  // docs/emulated-machine.md, "Known emulator fault").
  bool nested_paging = true;

  std::chrono::seconds boot_timeout{300};  // until the machine is ready

  std::chrono::seconds timeout{0};  // the whole run; 0: none
  // The machine failed if its agent, once ready, says nothing this long
  // (a hung kernel; it sends a sign of life every few seconds). 0: never.
  std::chrono::seconds stall_timeout{120};

  std::string log_path;  // the machine's whole console goes here if set
  ProgressFn progress;   // progress lines (nullptr: silent)
  std::string agent;     // default: this program (/proc/self/exe)
  // Called once with the command's exit status. With exec.linger the
  // machine then runs on until its last process ends (the command started
  // daemons: detached node processes), forwarding sockets all the while.
  std::function<void(int)> on_exit;
};

struct MachineRun {
  int status = kExitVmmError;   // the command's exit status
  bool machine_failed = false;  // the machine, not the command, failed (status 125)
  std::string message;          // why, with the end of its console
  int stop_signal = 0;          // the signal this process got that stopped the run; 0: none
};

// Runs `exec` in a new emulated machine. With exec.tty, this process's
// terminal (stdin/stdout) is put in raw mode and relayed to a terminal in
// the machine; else stdin, stdout and stderr are relayed apart. Throws Error
// for problems found before the machine starts (packages, QEMU missing,
// a forwarded socket in use).
MachineRun RunInEmulatedMachine(const MachineOptions& options, const ExecRequest& exec);

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_SUPERVISOR_H_

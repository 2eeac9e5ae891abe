#include "hypervisor/emulated/l1_initramfs.h"

#include <filesystem>

#include <fmt/format.h>

#include "common/command.h"
#include "common/error.h"
#include "common/file.h"
#include "hypervisor/emulated/cpio.h"
#include "hypervisor/emulated/kernel_modules.h"

namespace ssivm::emulated {
namespace {

constexpr uint64_t kMaxModuleBytes = 64ull << 20;
constexpr uint64_t kMaxBusyboxBytes = 16ull << 20;

// The init script reads paths a line at a time.
const std::string& CheckedPath(const std::string& path) {
  if (path.empty() || path.front() != '/' || path.find('\n') != std::string::npos) {
    throw Error(
        fmt::format("'{}' cannot be mounted in the emulated machine: not an absolute path "
                    "on one line",
                    path));
  }
  return path;
}

}  // namespace

std::vector<std::string> EarlyModules() {
  return {"virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay"};
}

std::vector<uint8_t> BuildL1Initramfs(const L1Packages& p, const L1Boot& boot) {
  CpioWriter a;
  for (const char* d : {"proc", "sys", "dev", "etc/hwkvm", "lib/modules"}) a.Directory(d);
  a.CharDevice("dev/console", 5, 1);
  a.CharDevice("dev/null", 1, 3, 0666);
  a.File("bin/busybox", ReadFileBytes(p.busybox, kMaxBusyboxBytes), 0755);
  a.File("init", std::string(kL1InitScript), 0755);

  const std::vector<uint8_t> dep = ReadFileBytes(p.modules_dir + "/modules.dep", 16ull << 20);
  std::vector<uint8_t> builtin;
  if (std::filesystem::exists(p.modules_dir + "/modules.builtin")) {
    builtin = ReadFileBytes(p.modules_dir + "/modules.builtin", 16ull << 20);
  }
  std::string order;
  for (const std::string& rel :
       ModuleLoadOrder(std::string(dep.begin(), dep.end()), EarlyModules(),
                       std::string(builtin.begin(), builtin.end()))) {
    const std::string base = rel.substr(rel.rfind('/') + 1);
    a.File("lib/modules/" + base, ReadFileBytes(p.modules_dir + "/" + rel, kMaxModuleBytes));
    order += base + "\n";
  }
  a.File("etc/hwkvm/modules", order);

  std::string args;
  for (const std::string& arg : boot.agent_args)
    args += (args.empty() ? "" : " ") + ShellQuote(arg);
  a.File("etc/hwkvm/config",
         fmt::format("RELEASE={}\nMODULES={}\nBUSYBOX={}\nAGENT={}\nAGENT_ARGS={}\n",
                     ShellQuote(p.release), ShellQuote(p.modules_dir), ShellQuote(p.busybox),
                     ShellQuote(boot.agent), ShellQuote(args)));
  std::string shares;
  for (const Share& s : boot.rw_shares) shares += s.tag + " " + CheckedPath(s.host_path) + "\n";
  a.File("etc/hwkvm/shares", shares);
  std::string private_dirs;
  for (const std::string& d : boot.private_dirs) private_dirs += CheckedPath(d) + "\n";
  a.File("etc/hwkvm/private", private_dirs);
  return a.Finish();
}

}  // namespace ssivm::emulated

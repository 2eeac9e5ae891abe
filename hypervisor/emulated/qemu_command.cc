#include "hypervisor/emulated/qemu_command.h"

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::emulated {
namespace {

// QEMU's option parser splits at commas; a literal comma is doubled.
std::string OptionValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

std::vector<std::string> QemuArgv(const QemuSpec& s) {
  if (s.cpus < 1) throw Error("the emulated machine needs at least one CPU");
  std::vector<std::string> a = {
      s.qemu,
      "-accel",
      // One host thread per emulated CPU when there are several.
      fmt::format("tcg,thread={}", s.cpus > 1 ? "multi" : "single"),
      "-cpu",
      kCpuModel,
      "-smp",
      std::to_string(s.cpus),
      "-m",
      std::to_string(s.memory_mib),
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-vga",
      "none",
      "-no-reboot",
      "-kernel",
      s.kernel,
      "-initrd",
      s.initrd,
      "-append",
      s.append,
      "-chardev",
      fmt::format("socket,id=serial,path={}", OptionValue(s.serial_socket)),
      "-serial",
      "chardev:serial",
      "-device",
      "virtio-serial-pci,id=vser",
      "-chardev",
      fmt::format("socket,id=channel,path={}", OptionValue(s.channel_socket)),
      "-device",
      fmt::format("virtserialport,bus=vser.0,chardev=channel,name={}", kChannelPortName),
  };
  for (const Share& sh : s.shares) {
    // security_model=none: files are read and created with QEMU's own
    // credentials, so the machine can do no more than the user who runs it.
    // multidevs=remap keeps inode numbers unique across host mounts.
    a.insert(a.end(),
             {"-fsdev",
              fmt::format("local,id={},path={},security_model=none,multidevs=remap{}", sh.tag,
                          OptionValue(sh.host_path), sh.read_only ? ",readonly=on" : ""),
              "-device", fmt::format("virtio-9p-pci,fsdev={},mount_tag={}", sh.tag, sh.tag)});
  }
  return a;
}

}  // namespace ssivm::emulated

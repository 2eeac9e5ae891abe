// Which kernel modules to load, and in which order, from the modules.dep
// file that depmod writes ("kernel/a/b.ko: kernel/c.ko kernel/d.ko").
// Pure logic.
#ifndef SSIVM_HYPERVISOR_EMULATED_KERNEL_MODULES_H_
#define SSIVM_HYPERVISOR_EMULATED_KERNEL_MODULES_H_

#include <string>
#include <string_view>
#include <vector>

namespace ssivm::emulated {

// "kvm-amd", "kvm_amd" and "kernel/arch/x86/kvm/kvm-amd.ko" all name kvm_amd.
std::string ModuleName(std::string_view name_or_path);

// The modules.dep paths of `wanted` and everything they depend on,
// dependencies first, each once; a wanted module that modules.builtin lists
// (built into the kernel, e.g. virtio_pci since Linux 6.x in Debian) needs
// no loading. Throws Error naming a module that neither lists.
std::vector<std::string> ModuleLoadOrder(std::string_view modules_dep,
                                         const std::vector<std::string>& wanted,
                                         std::string_view modules_builtin = "");

}  // namespace ssivm::emulated

#endif  // SSIVM_HYPERVISOR_EMULATED_KERNEL_MODULES_H_

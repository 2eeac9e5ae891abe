#include "hypervisor/kvm/kvm_vm.h"

#include <sys/ioctl.h>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm {

KvmVm::KvmVm(const KvmSystem& sys) : sys_(&sys) {
  int fd;
  do {
    fd = ::ioctl(sys.fd(), KVM_CREATE_VM, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    throw Error(fmt::format("KVM_CREATE_VM on {}: {}{}", sys.path(), ErrnoText(err),
                            err == ENOMEM ? " (not enough host memory)" : ""));
  }
  fd_.Reset(fd);
}

void KvmVm::CreateIrqchip() {
  sys_->Require(KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP");
  if (::ioctl(fd(), KVM_CREATE_IRQCHIP, 0) != 0) ThrowErrno("KVM_CREATE_IRQCHIP");
}

bool KvmVm::DisableAsyncPageFaults() {
  const int allowed = sys_->CheckExtension(KVM_CAP_X86_DISABLE_EXITS);
  if (allowed <= 0 || !(allowed & KVM_X86_DISABLE_EXITS_HLT)) return false;
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_X86_DISABLE_EXITS;
  cap.args[0] = KVM_X86_DISABLE_EXITS_HLT;
  if (::ioctl(fd(), KVM_ENABLE_CAP, &cap) != 0) ThrowErrno("KVM_ENABLE_CAP X86_DISABLE_EXITS(HLT)");
  return true;
}

void KvmVm::CreatePit() {
  sys_->Require(KVM_CAP_PIT2, "KVM_CAP_PIT2");
  kvm_pit_config cfg{};
  if (::ioctl(fd(), KVM_CREATE_PIT2, &cfg) != 0) ThrowErrno("KVM_CREATE_PIT2");
}

void KvmVm::SetRealModeAreas(uint64_t tss_gpa, uint64_t identity_map_gpa) {
  if (sys_->CheckExtension(KVM_CAP_SET_TSS_ADDR) > 0 &&
      ::ioctl(fd(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(tss_gpa)) != 0) {
    ThrowErrno(fmt::format("KVM_SET_TSS_ADDR {:#x}", tss_gpa));
  }
  if (sys_->CheckExtension(KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
    uint64_t a = identity_map_gpa;
    if (::ioctl(fd(), KVM_SET_IDENTITY_MAP_ADDR, &a) != 0) {
      ThrowErrno(fmt::format("KVM_SET_IDENTITY_MAP_ADDR {:#x}", identity_map_gpa));
    }
  }
}

void KvmVm::SetMemorySlot(uint32_t slot, uint64_t gpa, uint64_t size, void* host) {
  kvm_userspace_memory_region r{};
  r.slot = slot;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (::ioctl(fd(), KVM_SET_USER_MEMORY_REGION, &r) != 0) {
    ThrowErrno(fmt::format("KVM_SET_USER_MEMORY_REGION slot {} [{:#x}, +{:#x})", slot, gpa, size));
  }
}

void KvmVm::IrqLine(uint32_t irq, bool level) {
  kvm_irq_level l{};
  l.irq = irq;
  l.level = level ? 1 : 0;
  if (::ioctl(fd(), KVM_IRQ_LINE, &l) != 0) ThrowErrno(fmt::format("KVM_IRQ_LINE {}", irq));
}

void KvmVm::SignalMsi(uint64_t address, uint32_t data) {
  kvm_msi m{};
  m.address_lo = static_cast<uint32_t>(address);
  m.address_hi = static_cast<uint32_t>(address >> 32);
  m.data = data;
  if (::ioctl(fd(), KVM_SIGNAL_MSI, &m) < 0) {
    ThrowErrno(fmt::format("KVM_SIGNAL_MSI address {:#x} data {:#x}", address, data));
  }
}

}  // namespace ssivm

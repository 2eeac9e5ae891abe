// Debian 12's kernel headers declare the variable-length KVM structs
// (kvm_cpuid2, kvm_msrs, kvm_msr_list) with __DECLARE_FLEX_ARRAY, which in C++
// adds a one-byte empty struct: sizeof() grows, the entries move, and the
// ioctl numbers built from sizeof() no longer match the kernel's (EINVAL).
// These are the C layouts and ioctl numbers, for use from C++.
#ifndef SSIVM_HYPERVISOR_KVM_KVM_ABI_FIX_H_
#define SSIVM_HYPERVISOR_KVM_KVM_ABI_FIX_H_

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <memory>

namespace ssivm::kvmabi {

struct Cpuid2Header {
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
struct MsrListHeader {
  uint32_t nmsrs;
};
static_assert(sizeof(Cpuid2Header) == 8 && sizeof(MsrsHeader) == 8 && sizeof(MsrListHeader) == 4);

// kvm_xsave ends in a flexible array (for KVM_GET_XSAVE2), which C++ cannot
// hold in std::optional; KVM_GET_XSAVE/KVM_SET_XSAVE move exactly the
// 4 KiB legacy region.
struct Xsave {
  uint32_t region[1024];
};
static_assert(sizeof(Xsave) == 4096);

inline constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, Xsave);
inline constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, Xsave);
inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, Cpuid2Header);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);

// A zeroed header followed by n entries, laid out as the kernel expects.
template <class Header, class Entry>
class FlexBuffer {
 public:
  explicit FlexBuffer(size_t n)
      : buf_(std::make_unique<uint64_t[]>((sizeof(Header) + n * sizeof(Entry) + 7) / 8)) {}
  Header* header() { return reinterpret_cast<Header*>(buf_.get()); }
  Entry* entries() {
    return reinterpret_cast<Entry*>(reinterpret_cast<char*>(buf_.get()) + sizeof(Header));
  }
  void* data() { return buf_.get(); }

 private:
  std::unique_ptr<uint64_t[]> buf_;
};

}  // namespace ssivm::kvmabi

#endif  // SSIVM_HYPERVISOR_KVM_KVM_ABI_FIX_H_

// The page size of the guest-physical address space: the unit of the DSM,
// of userfaultfd paging and of the guest's allocator. One constant for the
// whole tree (host and guest). Freestanding.
#ifndef SSIVM_GUEST_ABI_PAGE_H_
#define SSIVM_GUEST_ABI_PAGE_H_

#include <stdint.h>

namespace ssivm::abi {

inline constexpr uint64_t kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
inline constexpr uint64_t kLargePageSize = uint64_t{2} << 20;

}  // namespace ssivm::abi

#endif  // SSIVM_GUEST_ABI_PAGE_H_

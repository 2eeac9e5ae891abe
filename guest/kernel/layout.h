// Where kernel data goes in a guest whose RAM is a page-grained DSM
// (guest/README.md, "Data layout"). The DSM keeps whole 4 KiB pages
// coherent: a page one node writes often and another reads or writes often
// moves between them at every such access, however far apart the bytes are.
//
// * Written often by one CPU or node: on pages of its own (alignas(kPage)),
//   in memory homed on its node where the kernel can arrange that (per-CPU
//   data, per-node allocator state).
// * Read often by everyone, written at boot or rarely: kReadMostly, which
//   gathers such globals on pages no hot write touches.
// * Everything else in .data/.bss: written rarely, or shared by design (a
//   global lock every node takes is one page that moves; keep it off the
//   read-mostly pages).
#ifndef SSIVM_GUEST_KERNEL_LAYOUT_H_
#define SSIVM_GUEST_KERNEL_LAYOUT_H_

#include <stddef.h>

namespace ssivm::guest {

inline constexpr size_t kPage = 4096;

}  // namespace ssivm::guest

// A global read everywhere and written only at boot (or rarely): linker.ld
// puts .data.read_mostly on pages of their own at the start of .data.
#define SSIVM_READ_MOSTLY __attribute__((section(".data.read_mostly")))

#endif  // SSIVM_GUEST_KERNEL_LAYOUT_H_

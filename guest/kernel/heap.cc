// The kernel heap: power-of-two size classes from 32 B to 2 KiB carved from
// pages, larger blocks straight from the page allocator. A 16-byte header
// before each block says which.
#include "guest/kernel/irq_lock.h"
#include "guest/kernel/mem.h"

namespace ssivm::guest::mem {
namespace {

constexpr uint32_t kMagic = 0x48454150;  // "HEAP"
constexpr size_t kHeader = 16;
constexpr uint32_t kMinShift = 5;   // 32 B
constexpr uint32_t kMaxShift = 11;  // 2 KiB
constexpr uint32_t kClasses = kMaxShift - kMinShift + 1;
constexpr uint32_t kLarge = 0xffffffff;

struct Header {
  uint32_t magic;
  uint32_t klass;  // size class, or kLarge
  uint64_t pages;  // kLarge: pages allocated
};
static_assert(sizeof(Header) == kHeader);

struct FreeBlock {
  FreeBlock* next;
};

constinit IrqSpinLock g_lock;
constinit FreeBlock* g_free[kClasses]{};

// Carves a fresh page into blocks of class `klass`. Lock held.
void CarveLocked(uint32_t klass, void* page) {
  const size_t size = size_t{1} << (klass + kMinShift);
  auto* base = static_cast<uint8_t*>(page);
  for (size_t off = 0; off + size <= abi::kPageSize; off += size) {
    auto* b = reinterpret_cast<FreeBlock*>(base + off);
    b->next = g_free[klass];
    g_free[klass] = b;
  }
}

}  // namespace

void* Alloc(size_t bytes) {
  const size_t total = bytes + kHeader;
  Header* h;
  if (total > (size_t{1} << kMaxShift)) {
    const size_t pages = (total + abi::kPageSize - 1) / abi::kPageSize;
    h = static_cast<Header*>(AllocPages(pages, kLocalNode));
    if (h == nullptr) return nullptr;
    *h = {kMagic, kLarge, pages};
    return h + 1;
  }
  uint32_t klass = 0;
  while ((size_t{1} << (klass + kMinShift)) < total) ++klass;
  for (;;) {
    {
      IrqLockGuard guard(g_lock);
      if (FreeBlock* b = g_free[klass]) {
        g_free[klass] = b->next;
        h = reinterpret_cast<Header*>(b);
        break;
      }
    }
    // The page allocator has its own lock: not taken under ours.
    void* page = AllocPages(1, kLocalNode);
    if (page == nullptr) return nullptr;
    IrqLockGuard guard(g_lock);
    CarveLocked(klass, page);
  }
  *h = {kMagic, klass, 0};
  return h + 1;
}

void Free(void* p) {
  if (p == nullptr) return;
  Header* h = static_cast<Header*>(p) - 1;
  if (h->magic != kMagic) return;  // not ours: leak rather than corrupt
  h->magic = 0;
  if (h->klass == kLarge) {
    FreePages(h, h->pages);
    return;
  }
  IrqLockGuard guard(g_lock);
  auto* b = reinterpret_cast<FreeBlock*>(h);
  b->next = g_free[h->klass];
  g_free[h->klass] = b;
}

}  // namespace ssivm::guest::mem

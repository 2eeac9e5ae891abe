#include "guest/kernel/mem.h"
#include "guest/kernel/boot_info.h"

#include "guest/abi/page.h"
#include "guest/kernel/irq_lock.h"
#include "guest/kernel/layout.h"
#include "guest/kernel/percpu.h"

namespace ssivm::guest::mem {
namespace {

// Free memory as sorted, coalesced extents; plenty for a kernel whose
// allocations are few and large (thread stacks, workload buffers).
constexpr uint32_t kMaxExtents = 512;

struct Extent {
  uint64_t base;
  uint64_t pages;
};

// One node's pool: its CPUs take its lock and rewrite its extents at every
// allocation, so it sits on pages of its own at the start of the node's own
// memory (homed there), never beside another node's (kernel/layout.h).
struct Node {
  IrqSpinLock lock;
  uint32_t count;
  uint64_t total_pages;
  uint64_t free_pages;
  Extent free[kMaxExtents];
};
constexpr uint64_t kNodePages = (sizeof(Node) + kPage - 1) / kPage;

// Set by Init, then only read: null for a node with no memory.
SSIVM_READ_MOSTLY constinit Node* g_nodes[kMaxNodes]{};
SSIVM_READ_MOSTLY constinit uint32_t g_node_count = 1;
SSIVM_READ_MOSTLY constinit abi::MemRange g_ranges[abi::kMaxMemRanges]{};
SSIVM_READ_MOSTLY constinit uint32_t g_range_count = 0;

// Inserts [base, base + pages) and merges with its neighbours. Lock held.
bool InsertLocked(Node& n, uint64_t base, uint64_t pages) {
  uint32_t i = 0;
  while (i < n.count && n.free[i].base < base) ++i;
  const uint64_t end = base + pages * abi::kPageSize;
  const bool merge_prev =
      i > 0 && n.free[i - 1].base + n.free[i - 1].pages * abi::kPageSize == base;
  const bool merge_next = i < n.count && n.free[i].base == end;
  if (merge_prev && merge_next) {
    n.free[i - 1].pages += pages + n.free[i].pages;
    for (uint32_t j = i; j + 1 < n.count; ++j) n.free[j] = n.free[j + 1];
    --n.count;
  } else if (merge_prev) {
    n.free[i - 1].pages += pages;
  } else if (merge_next) {
    n.free[i].base = base;
    n.free[i].pages += pages;
  } else {
    if (n.count == kMaxExtents) return false;  // leaks the pages; never seen
    for (uint32_t j = n.count; j > i; --j) n.free[j] = n.free[j - 1];
    n.free[i] = {base, pages};
    ++n.count;
  }
  n.free_pages += pages;
  return true;
}

void* TakeFrom(Node& n, size_t pages) {
  IrqLockGuard guard(n.lock);
  for (uint32_t i = 0; i < n.count; ++i) {
    Extent& e = n.free[i];
    if (e.pages < pages) continue;
    // From the top of the extent: the base stays put, so no reordering.
    e.pages -= pages;
    const uint64_t addr = e.base + e.pages * abi::kPageSize;
    if (e.pages == 0) {
      for (uint32_t j = i; j + 1 < n.count; ++j) n.free[j] = n.free[j + 1];
      --n.count;
    }
    n.free_pages -= pages;
    return reinterpret_cast<void*>(addr);
  }
  return nullptr;
}

}  // namespace

void Init(const abi::SsivmInfo& info) {
  g_node_count = info.node_count == 0 ? 1 : info.node_count;
  if (g_node_count > kMaxNodes) g_node_count = kMaxNodes;
  for (uint32_t i = 0; i < info.range_count; ++i) {
    const abi::MemRange& r = info.ranges[i];
    if (r.kind != abi::kRangeShared) continue;
    const uint32_t node = r.home_node < g_node_count ? r.home_node : 0;
    uint64_t base = (r.base + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
    const uint64_t end = (r.base + r.size) & ~(abi::kPageSize - 1);
    if (end <= base) continue;
    g_ranges[g_range_count++] = {base, end - base, r.kind, node};
    if (g_nodes[node] == nullptr) {
      // The node's first range large enough starts with its pool.
      if ((end - base) / abi::kPageSize <= kNodePages) continue;
      g_nodes[node] = reinterpret_cast<Node*>(base);
      __builtin_memset(static_cast<void*>(g_nodes[node]), 0, sizeof(Node));
      base += kNodePages * abi::kPageSize;
    }
    Node& n = *g_nodes[node];
    n.total_pages += (end - base) / abi::kPageSize;
    InsertLocked(n, base, (end - base) / abi::kPageSize);
  }
}

void* AllocPages(size_t pages, uint32_t node) {
  if (pages == 0) return nullptr;
  if (node == kLocalNode || node >= g_node_count) node = NodeOfCpu(CurrentCpuId());
  if (node < kMaxNodes && g_nodes[node] != nullptr) {
    if (void* p = TakeFrom(*g_nodes[node], pages)) return p;
  }
  for (uint32_t i = 0; i < g_node_count; ++i) {
    if (i == node || g_nodes[i] == nullptr) continue;
    if (void* p = TakeFrom(*g_nodes[i], pages)) return p;
  }
  return nullptr;
}

void FreePages(void* p, size_t pages) {
  if (p == nullptr || pages == 0) return;
  const auto addr = reinterpret_cast<uint64_t>(p);
  if (g_nodes[NodeOf(addr)] == nullptr) return;  // not pool memory: leak rather than corrupt
  Node& n = *g_nodes[NodeOf(addr)];
  IrqLockGuard guard(n.lock);
  InsertLocked(n, addr, pages);
}

uint32_t NodeCount() {
  return g_node_count;
}

NodeStats Stats(uint32_t node) {
  if (node >= kMaxNodes || g_nodes[node] == nullptr) return {0, 0};
  Node& n = *g_nodes[node];
  IrqLockGuard guard(n.lock);
  return {n.total_pages, n.free_pages};
}

uint32_t NodeOf(uint64_t addr) {
  for (uint32_t i = 0; i < g_range_count; ++i) {
    if (addr >= g_ranges[i].base && addr - g_ranges[i].base < g_ranges[i].size) {
      return g_ranges[i].home_node;
    }
  }
  return 0;
}

}  // namespace ssivm::guest::mem

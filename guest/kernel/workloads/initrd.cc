// initrd: every CPU checksums the initrd the VMM loaded (FNV-1a, 64 bit) and
// all must agree. In a cluster every node loads the initrd itself and its
// pages start replicated, wherever their home: CPUs on every node read it.
#include "guest/kernel/boot_info.h"
#include "guest/kernel/workloads/workload.h"

namespace ssivm::guest::workloads {
namespace {

constexpr uint32_t kMaxCpus = abi::kMaxVcpus;

struct Ctx {
  const uint8_t* data;
  uint64_t size;
  uint64_t hash[kMaxCpus];
};

void Body(uint32_t i, void* p) {
  auto* c = static_cast<Ctx*>(p);
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t k = 0; k < c->size; ++k) h = (h ^ c->data[k]) * 0x100000001b3ull;
  c->hash[i] = h;
}

}  // namespace

bool Initrd(const Args&) {
  const abi::BootParams& bp = *Boot().params;
  const uint64_t start = abi::InitrdBase(bp);
  const uint64_t size = abi::InitrdSize(bp);
  if (size == 0) return Result("initrd", false, "no initrd was loaded");
  static Ctx c;  // large: not on a thread stack
  c.data = reinterpret_cast<const uint8_t*>(start);
  c.size = size;
  const uint32_t cpus = Cpus() < kMaxCpus ? Cpus() : kMaxCpus;
  if (!RunThreads(cpus, true, Body, &c)) return Result("initrd", false, "could not start threads");
  bool agree = true;
  for (uint32_t i = 1; i < cpus; ++i) agree = agree && c.hash[i] == c.hash[0];
  return Result("initrd", agree, "cpus=%u at=%#lx bytes=%lu fnv1a=%#lx", cpus, start, size,
                c.hash[0]);
}

}  // namespace ssivm::guest::workloads

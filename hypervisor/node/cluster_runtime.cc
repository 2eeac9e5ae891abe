#include "hypervisor/node/cluster_runtime.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "guest/abi/boot_info.h"
#include "guest/abi/pv_devices.h"

namespace ssivm {

uint64_t SharedRamBase() {
  return abi::kKernelBase;
}

dsm::HomeMap HomesOf(const ClusterRole& role, const GuestMemory& mem) {
  std::vector<dsm::HomeMap::RamSpan> ram;
  for (const GuestMemory::Region& r : mem.regions()) ram.push_back({r.gpa, r.size});
  return dsm::HomeMap(role.node_bytes, std::move(ram));
}

void ApplyClusterToBootInfo(const GuestMemory& mem, const ClusterRole& role,
                            const dsm::HomeMap& homes) {
  const auto params = mem.ReadObject<abi::BootParams>(abi::kBootParamsGpa);
  const uint64_t info_gpa = params.hdr.setup_data + sizeof(abi::SetupData);
  auto info = std::make_unique<abi::SsivmInfo>(mem.ReadObject<abi::SsivmInfo>(info_gpa));
  // Keep the boot, private and kernel ranges; re-split shared RAM by home.
  const std::vector<abi::MemRange> old(info->ranges, info->ranges + info->range_count);
  uint32_t n = 0;
  for (const abi::MemRange& r : old) {
    if (r.kind != abi::kRangeShared) info->ranges[n++] = r;
  }
  for (const abi::MemRange& r : old) {
    if (r.kind != abi::kRangeShared) continue;
    uint64_t covered = 0;
    for (const auto& h : homes.ranges()) {
      const uint64_t lo = std::max(r.base, h.base), hi = std::min(r.base + r.size, h.base + h.size);
      if (lo >= hi) continue;
      if (n == abi::kMaxMemRanges) throw Error("too many memory ranges for the boot info");
      info->ranges[n++] = {lo, hi - lo, abi::kRangeShared, h.home};
      covered += hi - lo;
    }
    if (covered != r.size) throw Error("guest RAM extends past the nodes' contributions");
  }
  info->range_count = n;
  info->node_count = role.node_count;
  for (uint32_t v = 0; v < role.vcpus && v < abi::kMaxVcpus; ++v) {
    info->vcpu_node[v] = static_cast<uint8_t>(role.vcpu_node[v]);
  }
  mem.WriteObject(info_gpa, *info);
}

ClusterRuntime::ClusterRuntime(const ClusterRole& role, const GuestMemory& ram, VmStop& stop,
                               ClusterLink::LocalInterrupt interrupt)
    : role_(role), stop_(stop), homes_(HomesOf(role, ram)) {
  const dsm::NodeAddress& me = role.addresses[role.self];
  dsm::TcpListener listener = dsm::TcpListener::Listen(me.host, me.port);
  dsm::TcpConfig cfg;
  cfg.cluster_id = role.cluster_key;
  cfg.epoch = role.epoch;
  cfg.self = role.self;
  cfg.nodes = role.addresses;
  cfg.connect_timeout = std::chrono::seconds(60);
  spdlog::info("node {}: joining {} nodes at {}", role.self, role.node_count, me.Describe());
  transport_ = dsm::TcpTransport::Connect(cfg, std::move(listener));
  link_ = std::make_unique<ClusterLink>(role.self, role.node_count, role.vcpu_node, *transport_,
                                        stop, std::move(interrupt));
  spdlog::info("node {}: connected to every peer", role.self);
}

ClusterRuntime::~ClusterRuntime() {
  Stop(0);
}

void ClusterRuntime::StartDsm(const GuestMemory& ram,
                              const std::vector<std::pair<uint64_t, uint64_t>>& read_only) {
  // Shared RAM: every RAM region from SharedRamBase() up (below and above
  // the MMIO hole).
  const uint64_t base = SharedRamBase();
  std::vector<dsm::SharedRegion> regions;
  for (const GuestMemory::Region& r : ram.regions()) {
    if (r.gpa + r.size <= base) continue;
    const uint64_t from = std::max(r.gpa, base);
    regions.push_back({from, r.gpa + r.size - from, r.host + (from - r.gpa)});
  }
  dsm::SharedRam shared(std::move(regions));
  std::vector<std::pair<uint64_t, uint64_t>> keep;  // replicated text, sorted
  std::vector<dsm::PageNumber> replicated;
  for (const auto& [gpa, size] : read_only) {
    if (!ram.Contains(gpa, size) || gpa < base) continue;
    keep.emplace_back(gpa, size);
    for (uint64_t a = gpa; a < gpa + size; a += abi::kPageSize)
      replicated.push_back(a / abi::kPageSize);
  }
  std::sort(keep.begin(), keep.end());
  if (role_.self != 0) {
    // Node 0's copy of the guest is the one that counts: drop what this node
    // loaded, except the read-only text every node keeps.
    for (const dsm::SharedRegion& r : shared.regions()) {
      uint64_t from = r.gpa;
      auto drop = [&](uint64_t to) {
        if (to > from) ::madvise(r.host + (from - r.gpa), to - from, MADV_DONTNEED);
      };
      for (const auto& [gpa, size] : keep) {
        if (gpa < r.gpa || gpa >= r.gpa + r.size) continue;
        drop(gpa);
        from = gpa + size;
      }
      drop(r.gpa + r.size);
    }
  }
  engine_ = std::make_unique<dsm::FaultEngine>(
      role_.self, std::move(shared), [this](dsm::PageNumber p) { return homes_.HomeOf(p); },
      *transport_,
      [this](const std::string& why) {
        stop_.Request({kExitPeerLost, fmt::format("DSM on node {}: {}", role_.self, why), true});
      },
      replicated, role_.node_count);
  link_->set_coherence(engine_.get());
  transport_->Start(link_.get());
  engine_->Start();
}

PioDevice* ClusterRuntime::ForwardDevice(uint16_t base) {
  remote_devices_.push_back(std::make_unique<RemoteDevice>(*link_, 0, base));
  return remote_devices_.back().get();
}

void ClusterRuntime::Stop(int status) {
  if (stopped_) return;
  stopped_ = true;
  link_->BroadcastShutdown(status);
  link_->Abort();
  if (engine_) {
    engine_->Stop();
    final_stats_ = engine_->stats();
    final_hottest_ = engine_->HottestPages(5);
  }
  transport_->Stop();
  // Destroying the engine unregisters userfaultfd: vCPU threads still
  // blocked on a missing page are released (and then kicked out).
  engine_.reset();
}

dsm::DsmStats ClusterRuntime::stats() const {
  return engine_ ? engine_->stats() : final_stats_;
}

}  // namespace ssivm

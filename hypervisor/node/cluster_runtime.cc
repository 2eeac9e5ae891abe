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
  std::vector<dsm::HomeMap::Contribution> contributions;
  for (const auto& [id, bytes] : role.view.Contributions()) contributions.push_back({id, bytes});
  return dsm::HomeMap(contributions, std::move(ram));
}

ClusterRuntime::ClusterRuntime(const ClusterRole& role, const GuestMemory& ram, VmStop& stop,
                               ClusterLink::LocalInterrupt interrupt, bool page_ram)
    : role_(role), stop_(stop), page_ram_(page_ram), homes_(HomesOf(role, ram)) {
  cluster::TransportConfig cfg;
  cfg.cluster_id = role.cluster_key;
  cfg.epoch = role.epoch();
  cfg.self = role.self;
  cfg.nodes = role.addresses();
  cfg.security = role.security;
  cfg.secret = role.secret;
  cfg.heartbeat_timeout = role.heartbeat_timeout;
  cfg.connect_timeout = std::chrono::seconds(60);
  const cluster::Member& me = *role.view.Find(role.self);
  const bool wired = !me.host.empty();  // else a VM without a manifest: no wire
  if (wired) {
    spdlog::info("node {}: joining {} nodes at {} (transport {})", role.self, role.node_count(),
                 cluster::NodeAddress{me.id, me.host, me.port}.Describe(),
                 cluster::SecurityName(role.security));
  }
  transport_ = cluster::MakeTransport(cfg);
  link_ =
      std::make_unique<ClusterLink>(role.self, role.view, *transport_, stop, std::move(interrupt));
  link_->ReportStallsAfter(role.heartbeat_timeout,
                           [](const std::string& s) { spdlog::warn("{}", s); });
  if (wired) spdlog::info("node {}: connected to every peer", role.self);
}

ClusterRuntime::~ClusterRuntime() {
  Stop(0);
}

void ClusterRuntime::StartDsm(const GuestMemory& ram,
                              const std::vector<std::pair<uint64_t, uint64_t>>& read_only) {
  if (!page_ram_) {
    transport_->Start();
    return;
  }
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
  if (!role_.device_node()) {
    // The device node's copy of the guest is the one that counts: drop what
    // this node loaded, except the read-only text every node keeps.
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
  auto engine = std::make_unique<dsm::FaultEngine>(
      role_.self, std::move(shared), [this](dsm::PageNumber p) { return homes_.HomeOf(p); },
      *transport_,
      [this](const std::string& why) {
        stop_.Request({kExitPeerLost, fmt::format("DSM on node {}: {}", role_.self, why), true});
      },
      replicated, role_.member_ids());
  engine->ReportStallsAfter(role_.heartbeat_timeout,
                            [](const std::string& s) { spdlog::warn("{}", s); });
  {
    const std::lock_guard lock(engine_mu_);
    engine_ = std::move(engine);
    for (const auto& [tid, vcpu] : early_threads_) engine_->RegisterVcpuThread(tid, vcpu);
    early_threads_.clear();
  }
  // The cache budget in guest pages (PrepareGuest: CacheBudgetMib): beyond
  // it the DSM evicts.
  engine_->LimitCache(role_.cache_pages);
  transport_->Start();  // after every channel has its handler
  engine_->Start();
}

void ClusterRuntime::RegisterVcpuThread(uint32_t vcpu, uint32_t tid) {
  const std::lock_guard lock(engine_mu_);
  if (engine_) {
    engine_->RegisterVcpuThread(tid, vcpu);
  } else if (!stopped_) {
    early_threads_.emplace_back(tid, vcpu);
  }
}

dsm::FaultEngine::VcpuPagesFrom ClusterRuntime::vcpu_pages_from() const {
  const std::lock_guard lock(engine_mu_);
  return engine_ ? engine_->vcpu_pages_from() : final_vcpu_pages_from_;
}

bool ClusterRuntime::VcpuWaitsForPage(uint32_t vcpu) const {
  const std::lock_guard lock(engine_mu_);
  return engine_ && engine_->VcpuWaits(vcpu);
}

PioDevice* ClusterRuntime::ForwardDevice(uint16_t base) {
  remote_devices_.push_back(std::make_unique<RemoteDevice>(*link_, role_.device_node_id(), base));
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
  // No forwarded device access runs once this returns: the devices may go.
  link_->StopServing();
  // Destroying the engine unregisters userfaultfd: vCPU threads still
  // blocked on a missing page are released (and then kicked out).
  const std::lock_guard lock(engine_mu_);
  if (engine_) final_vcpu_pages_from_ = engine_->vcpu_pages_from();
  engine_.reset();
}

dsm::DsmStats ClusterRuntime::stats() const {
  return engine_ ? engine_->stats() : final_stats_;
}

}  // namespace ssivm

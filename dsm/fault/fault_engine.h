// The thin layer around the coherence protocol on one node: userfaultfd
// faults on the node's view of shared guest RAM become protocol requests,
// protocol actions become page operations and transport sends.
#ifndef SSIVM_DSM_FAULT_FAULT_ENGINE_H_
#define SSIVM_DSM_FAULT_FAULT_ENGINE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cluster/transport/transport.h"
#include "common/unique_fd.h"
#include "dsm/coherence/coherence_node.h"
#include "dsm/fault/hot_pages.h"
#include "dsm/fault/prefetch.h"
#include "dsm/fault/userfaultfd.h"

namespace ssivm::dsm {

// Shared guest RAM as this node maps it (page aligned).
struct SharedRegion {
  uint64_t gpa;
  uint64_t size;
  uint8_t* host;
};

// Shared guest RAM in one or more regions (below and above the MMIO hole),
// ascending, adjacent in host memory (one userfaultfd registration) but not
// necessarily in guest-physical addresses.
class SharedRam {
 public:
  // Throws Error if the regions are empty, unaligned, not ascending or not
  // adjacent in host memory.
  explicit SharedRam(std::vector<SharedRegion> regions);

  uint8_t* host_base() const { return regions_.front().host; }
  uint64_t host_size() const;
  const std::vector<SharedRegion>& regions() const { return regions_; }
  // nullopt if the page / host address is not shared RAM.
  std::optional<uint64_t> HostAddress(PageNumber page) const;
  std::optional<PageNumber> PageAt(uint64_t host_address) const;
  bool Contains(PageNumber page) const { return HostAddress(page).has_value(); }

 private:
  std::vector<SharedRegion> regions_;
};

// Fault service latency, log2 buckets: bucket b counts faults resolved in
// [2^b, 2^(b+1)) microseconds (bucket 0 also takes < 1 µs).
inline constexpr int kLatencyBuckets = 20;

struct DsmStats {
  uint64_t read_faults = 0;
  uint64_t write_faults = 0;
  uint64_t pages_sent = 0;
  uint64_t pages_received = 0;
  uint64_t zero_fills = 0;
  uint64_t invalidations = 0;
  uint64_t messages_handled = 0;
  uint64_t prefetched = 0;  // pages asked for ahead of a stream of faults
  // The cache of pages homed elsewhere (CoherenceNode::Counters).
  uint64_t cached_pages = 0;
  uint64_t cache_limit_pages = 0;  // 0: no limit
  uint64_t evicted_clean = 0;
  uint64_t written_back = 0;
  uint64_t metadata_bytes = 0;  // the protocol's per-page state
  uint64_t metadata_pages = 0;  // the pages it covers
  uint64_t latency_us_log2[kLatencyBuckets] = {};
};

// "≤2µs:5 ≤4µs:17 ..." for the non-empty buckets.
std::string FormatLatency(const DsmStats& s);

// The coherence channel's handler: messages from peers go straight to the
// protocol, on the transport's receive thread.
class FaultEngine final : public cluster::ChannelHandler {
 public:
  using FatalHandler = std::function<void(const std::string& reason)>;

  // Serves `transport`'s coherence channel (set before the transport
  // starts). Pages already resident in `region` (written by the loader before the
  // DSM starts) become this node's exclusive pages; every such page must be
  // homed here. Registers the region with userfaultfd.
  // `replicated` pages (kernel text every node loaded itself) start
  // read-only and shared by every one of `members`.
  FaultEngine(NodeId self, SharedRam ram, CoherenceNode::HomeOf home_of,
              cluster::Transport& transport, FatalHandler on_fatal,
              const std::vector<PageNumber>& replicated = {},
              const std::vector<NodeId>& members = {});
  FaultEngine(NodeId self, SharedRegion region, CoherenceNode::HomeOf home_of,
              cluster::Transport& transport, FatalHandler on_fatal,
              const std::vector<PageNumber>& replicated = {},
              const std::vector<NodeId>& members = {})
      : FaultEngine(self, SharedRam({region}), std::move(home_of), transport, std::move(on_fatal),
                    replicated, members) {}
  ~FaultEngine() override;

  // At most `pages` copies of pages homed elsewhere stay here (0: no
  // limit); beyond it the protocol evicts (CoherenceNode::SetCacheLimit).
  // Prefetch then fetches at most a quarter of it ahead. Before the first
  // fault (pages cached before are not on the eviction clock).
  void LimitCache(uint64_t pages);
  // How many pages prefetch may fetch ahead of a stream (0: none; default
  // Prefetch::Config's). Any time.
  void LimitPrefetch(uint32_t pages);
  // A fault that has waited longer than `after` is reported once through
  // `report` (naming the page and its home); the peers' liveness is the
  // transport's heartbeats, so this shows a protocol that stalls. Before Start.
  void ReportStallsAfter(std::chrono::milliseconds after,
                         std::function<void(const std::string&)> report);
  void Start();
  void Stop();

  void OnReceive(NodeId from, std::span<const uint8_t> payload, PageBuffer page) override;
  void OnBatchEnd() noexcept override;
  void OnPeerLost(NodeId peer, const std::string& reason) override;
  // One decoded message from a peer (OnReceive's second half): kept until
  // OnBatchEnd. Throws Error if it names a page outside shared guest RAM.
  void Handle(NodeId from, const Message& message);

  // Cheap: the guest's PV info device and ssictl status read it.
  DsmStats stats() const;
  // The n pages that faulted most here, most first (page, faults at least:
  // HotPages).
  std::vector<std::pair<PageNumber, uint64_t>> HottestPages(size_t n) const;

  // Faults of thread `tid` count as vCPU `vcpu`'s (placement's input). Any
  // time, from any thread.
  void RegisterVcpuThread(uint32_t tid, uint32_t vcpu);
  // Whether faults can be told apart by thread (the kernel names them).
  bool attributes_faults() const { return uffd_.thread_ids(); }
  // Per vCPU, the pages it waited for that came from each node, since the
  // start: vcpu -> (node -> pages).
  using VcpuPagesFrom = std::map<uint32_t, std::map<NodeId, uint64_t>>;
  VcpuPagesFrom vcpu_pages_from() const;
  // Whether vCPU `vcpu` waits for a page now.
  bool VcpuWaits(uint32_t vcpu) const;

 private:
  void FaultLoop();
  // A local fault's actions, in order.
  void Execute(std::vector<Action>& actions);
  // The actions for a batch of peers' messages (each with the peer).
  void ExecuteBatch(std::vector<std::pair<NodeId, Action>>& batch);
  // What ExecuteBatch does after the batch's other actions: the drops (in
  // runs), then the sends (in order).
  struct Later {
    bool drop_now = false;  // this action's drop is not the page's last action
    std::vector<uint64_t> drops;
    std::vector<std::pair<NodeId, const Message*>> sends;
  };
  void ExecuteOne(Action& a, std::optional<NodeId> from, Later* later);
  void Fatal(const std::string& reason);
  uint64_t HostAddress(PageNumber page) const;

  void Resolved(PageNumber page);
  // `stream`: the faulting thread.
  void FetchAhead(uint32_t stream, PageNumber page, bool write);
  void ReportStalls();

  const SharedRam ram_;
  cluster::Transport& transport_;
  const FatalHandler on_fatal_;
  mutable std::mutex mu_;  // guards node_, stats_ and what is kept per page and per vCPU
  CoherenceNode node_;
  DsmStats stats_;
  // A page faulted here and not resolved yet: since when, whether its stall
  // was reported, and which vCPUs wait for it.
  struct PendingFault {
    std::chrono::steady_clock::time_point since;
    bool reported = false;
    std::vector<uint32_t> vcpus;
  };
  std::unordered_map<PageNumber, PendingFault> pending_;
  std::vector<uint64_t> wakes_;  // host pages whose waiters OnBatchEnd wakes after mu_
  // Messages received (Handle) and not yet taken by the protocol.
  std::mutex received_mu_;
  std::vector<std::pair<NodeId, Message>> received_;
  std::chrono::milliseconds stall_after_{0};
  std::function<void(const std::string&)> report_stall_;
  CoherenceNode::HomeOf home_of_;
  const std::unordered_set<PageNumber> replicated_;  // read-only on every node at the start
  HotPages page_faults_;
  Prefetch prefetch_;
  std::unordered_map<PageNumber, uint32_t> prefetched_for_;  // page on its way -> vCPU
  std::unordered_map<uint32_t, uint32_t> vcpu_of_thread_;    // tid -> vCPU
  VcpuPagesFrom vcpu_pages_from_;
  Userfaultfd uffd_;
  UniqueFd stop_;
  std::thread thread_;
  std::atomic<bool> failed_{false};
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_FAULT_FAULT_ENGINE_H_

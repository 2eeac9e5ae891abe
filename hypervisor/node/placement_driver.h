// Automatic placement, run by the node: every window each node tells the
// coordinator how many pages each of its vCPUs pulled from each node
// (PagesPulled, cumulative), and the coordinator feeds the window's
// differences to the placement policy (migrate/placement.h, pure logic) and
// makes the moves it asks for through the migrator. With placement off the
// coordinator still collects the counts (ssictl status) but moves nothing.
#ifndef SSIVM_HYPERVISOR_NODE_PLACEMENT_DRIVER_H_
#define SSIVM_HYPERVISOR_NODE_PLACEMENT_DRIVER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "cluster/control_message.h"
#include "cluster/transport/transport.h"
#include "hypervisor/node/cluster_link.h"
#include "hypervisor/node/vcpu_migrator.h"
#include "migrate/cost_model.h"
#include "migrate/placement.h"

namespace ssivm {

struct PlacementDriverConfig {
  cluster::NodeId self = 0;
  cluster::NodeId coordinator = 0;
  bool automatic = true;  // the coordinator moves vCPUs (else it only counts)
  std::chrono::milliseconds window{1000};
  migrate::PlacementConfig policy;
};

class PlacementDriver {
 public:
  // Per vCPU that ran here, the pages it waited for by the node they came
  // from, since the node started (cumulative).
  using PagesFrom = std::map<uint32_t, std::map<cluster::NodeId, uint64_t>>;
  // What the node measures, read once a window.
  struct Inputs {
    std::function<PagesFrom()> pages_from;
    // This node's faults so far by how long they waited (log2 us buckets,
    // cumulative): the coordinator's measure of a remote fault.
    std::function<std::vector<uint64_t>()> fault_latencies;
  };

  PlacementDriver(const PlacementDriverConfig& config, ClusterLink& link,
                  cluster::Transport& transport, VcpuMigrator& migrator, Inputs inputs);
  ~PlacementDriver();
  PlacementDriver(const PlacementDriver&) = delete;
  PlacementDriver& operator=(const PlacementDriver&) = delete;

  bool automatic() const { return config_.automatic; }
  // The costs the policy weighs moves by, and what they rest on.
  migrate::CostEvidence costs() const;
  // The coordinator: a peer's report (the transport's receive thread).
  void OnPagesPulled(cluster::NodeId from, const cluster::PagesPulled& p);
  // Ends the thread (a move it waits for returns once the migrator stops).
  void Stop();

 private:
  void Run();
  void Report();  // a node other than the coordinator
  void Decide();  // the coordinator
  // Adds the difference to the last cumulative count of (node, vcpu, from).
  void Count(cluster::NodeId node, uint32_t vcpu, cluster::NodeId from, uint64_t pages);
  // Feeds the cost model what the window measured: the pages the vCPUs it
  // moved last window pulled back from the node they left, the fault
  // latencies and the operator's moves (mu_ held).
  void MeasureCosts(const std::vector<VcpuPlacementState>& states);

  const PlacementDriverConfig config_;
  ClusterLink& link_;
  cluster::Transport& transport_;
  VcpuMigrator& migrator_;
  const Inputs inputs_;
  migrate::PlacementPolicy policy_;  // the driver's thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::tuple<cluster::NodeId, uint32_t, cluster::NodeId>, uint64_t> last_;
  std::map<uint32_t, std::map<cluster::NodeId, uint64_t>> window_;  // this window's pages
  migrate::CostModel cost_model_;
  std::map<uint32_t, cluster::NodeId> pull_back_from_;  // moved last window: the node it left
  std::vector<uint32_t> moves_seen_;  // per vCPU: its migrations, as of the last window
  std::thread thread_;                // last
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_PLACEMENT_DRIVER_H_

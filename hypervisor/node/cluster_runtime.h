// The cluster half of a node process: the transport to the other nodes, the
// DSM fault engine over shared guest RAM (the coherence channel), and the
// link that forwards IPIs, I/O and shutdowns (the control channel). Every
// node process has one: a VM started without a manifest is the one node of a
// 1-node cluster, with a transport that has no wire and no DSM.
#ifndef SSIVM_HYPERVISOR_NODE_CLUSTER_RUNTIME_H_
#define SSIVM_HYPERVISOR_NODE_CLUSTER_RUNTIME_H_

#include <memory>
#include <mutex>
#include <vector>

#include "cluster/transport/transport.h"
#include "dsm/coherence/home_map.h"
#include "dsm/fault/fault_engine.h"
#include "hypervisor/devices/io_bus.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/node/cluster_link.h"
#include "hypervisor/node/cluster_role.h"
#include "hypervisor/node/vm_stop.h"

namespace ssivm {

// Guest RAM from here up is coherent (DSM); below is the boot region and the
// node-private region, which every node builds for itself.
uint64_t SharedRamBase();

// Which node is home of each page of this guest's RAM.
dsm::HomeMap HomesOf(const ClusterRole& role, const GuestMemory& mem);

class ClusterRuntime {
 public:
  // Connects the transport (blocks until every peer has connected, or
  // throws Error naming the missing ones).
  // `page_ram`: the DSM pages shared guest RAM (every node started from a
  // manifest, even alone: peers may join it).
  ClusterRuntime(const ClusterRole& role, const GuestMemory& ram, VmStop& stop,
                 ClusterLink::LocalInterrupt interrupt, bool page_ram);
  ~ClusterRuntime();

  const dsm::HomeMap& homes() const { return homes_; }
  ClusterLink& link() { return *link_; }
  cluster::Transport& transport() { return *transport_; }

  // Starts paging (if the DSM pages RAM): `ram` is this node's view of guest RAM. Pages of the
  // shared part that this node already wrote (the device node's loader) become its
  // own; on other nodes the shared part must be untouched.
  // `read_only` ranges (kernel text, initrd) were loaded by every node and
  // start replicated: shared by all, write-protected until a write asks the
  // home.
  void StartDsm(const GuestMemory& ram,
                const std::vector<std::pair<uint64_t, uint64_t>>& read_only);
  // A stand-in for a device that lives on the device node at port `base`: every
  // access is forwarded there. Owned here.
  PioDevice* ForwardDevice(uint16_t base);
  // The device node: peers may use these devices.
  void ServeDevices(IoBus& bus) { link_->set_devices(&bus); }
  // Tells the others the guest stopped, frees waiters and stops paging.
  // Faults still blocked on missing pages are released.
  void Stop(int status);

  dsm::DsmStats stats() const;
  // A vCPU's thread, as it starts (a parked one may start before StartDsm:
  // it is registered when the DSM starts): its faults count as that vCPU's
  // (which node each vCPU pulls pages from, placement's input).
  void RegisterVcpuThread(uint32_t vcpu, uint32_t tid);
  // Per vCPU, the pages it waited for by the node they came from (empty
  // without a DSM, or where the kernel does not name faulting threads).
  dsm::FaultEngine::VcpuPagesFrom vcpu_pages_from() const;
  // Whether vCPU `vcpu` waits for a remote page now (false once stopped).
  bool VcpuWaitsForPage(uint32_t vcpu) const;
  // Every connection to a peer: when it was last heard from (ssictl status).
  std::vector<cluster::LinkStatus> links() const { return transport_->Links(); }
  // Kept from the engine when the DSM stops, for the exit report.
  const std::vector<std::pair<dsm::PageNumber, uint64_t>>& final_hottest_pages() const {
    return final_hottest_;
  }

 private:
  const ClusterRole role_;
  VmStop& stop_;
  const bool page_ram_;
  dsm::HomeMap homes_;
  std::unique_ptr<cluster::Transport> transport_;
  std::unique_ptr<ClusterLink> link_;
  std::unique_ptr<dsm::FaultEngine> engine_;
  std::vector<std::unique_ptr<RemoteDevice>> remote_devices_;
  dsm::DsmStats final_stats_;
  // engine_ goes in Stop while a vCPU thread may still be starting.
  mutable std::mutex engine_mu_;
  dsm::FaultEngine::VcpuPagesFrom final_vcpu_pages_from_;
  std::vector<std::pair<uint32_t, uint32_t>> early_threads_;  // (tid, vCPU) before the engine
  std::vector<std::pair<dsm::PageNumber, uint64_t>> final_hottest_;
  bool stopped_ = false;
};

}  // namespace ssivm

#endif  // SSIVM_HYPERVISOR_NODE_CLUSTER_RUNTIME_H_

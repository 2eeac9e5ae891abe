// A whole cluster of CoherenceNodes for tests: FIFO channels between every
// pair of nodes and an executor that applies actions to per-node page
// copies, checking that the protocol's view and the "memory" agree.
#ifndef SSIVM_DSM_COHERENCE_TEST_CLUSTER_H_
#define SSIVM_DSM_COHERENCE_TEST_CLUSTER_H_

#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dsm/coherence/coherence_node.h"
#include "guest/abi/page.h"

namespace ssivm::dsm::testing {

class TestCluster {
 public:
  struct Copy {
    LocalState state = LocalState::kInvalid;
    uint64_t value = 0;
  };

  TestCluster(uint32_t nodes, uint32_t homes_mod) : n_(nodes) {
    for (NodeId i = 0; i < nodes; ++i) {
      nodes_.push_back(std::make_unique<CoherenceNode>(
          i, [homes_mod](PageNumber p) { return static_cast<NodeId>(p % homes_mod); }));
    }
    copies_.resize(nodes);
  }

  CoherenceNode& node(NodeId i) { return *nodes_[i]; }
  Copy& copy(NodeId i, PageNumber p) { return copies_[i][p]; }
  uint32_t size() const { return n_; }

  // Faults on node i; returns the actions' kinds for inspection.
  std::vector<Action> Fault(NodeId i, PageNumber p, bool write) {
    std::vector<Action> a = nodes_[i]->Fault(p, write);
    Execute(i, a);
    return a;
  }

  // Node i gives up its copy of p (eviction); returns the actions.
  std::vector<Action> Evict(NodeId i, PageNumber p) {
    std::vector<Action> a = nodes_[i]->Evict(p);
    Execute(i, a);
    return a;
  }

  std::deque<std::pair<NodeId, Message>>& channel(NodeId from, NodeId to) {
    return channels_[{from, to}];
  }

  // Delivers the oldest message on from->to; returns the actions it caused.
  std::vector<Action> Deliver(NodeId from, NodeId to) {
    auto& ch = channel(from, to);
    auto [sender, m] = std::move(ch.front());
    ch.pop_front();
    std::vector<Action> a = nodes_[to]->Receive(sender, m);
    Execute(to, a);
    return a;
  }

  size_t InFlight() const {
    size_t n = 0;
    for (const auto& [k, ch] : channels_) n += ch.size();
    return n;
  }

  std::vector<std::pair<NodeId, NodeId>> BusyChannels() const {
    std::vector<std::pair<NodeId, NodeId>> out;
    for (const auto& [k, ch] : channels_) {
      if (!ch.empty()) out.push_back(k);
    }
    return out;
  }

  // Empty string if every invariant holds for page p.
  std::string Check(PageNumber p, uint64_t reference) {
    int writers = 0, readers = 0;
    for (NodeId i = 0; i < n_; ++i) {
      const Copy& c = copy(i, p);
      if (c.state != nodes_[i]->local_state(p)) return "executor and protocol disagree";
      if (c.state == LocalState::kReadWrite) ++writers;
      if (c.state == LocalState::kReadOnly) ++readers;
      if (c.state != LocalState::kInvalid && c.value != reference) {
        return "node " + std::to_string(i) + " holds a stale copy";
      }
    }
    if (writers > 1) return "two writers";
    if (writers == 1 && readers > 0) return "a writer and readers at once";
    return "";
  }

 private:
  static uint64_t ValueOf(const PageBuffer& d) {
    uint64_t v;
    std::memcpy(&v, d.data(), sizeof(v));
    return v;
  }

  // The receiver may act on a message at once (the network is concurrent
  // with the rest of the sender's work): handing out write access, or giving
  // up ownership, while still holding a readable copy breaks the
  // single-writer invariant even if the copy is dropped a moment later.
  void Send(NodeId self, const Action& a) {
    const Copy& c = copies_[self][a.page];
    const auto* g = std::get_if<Grant>(&a.message);
    const auto* w = std::get_if<WriteBack>(&a.message);
    const bool put_owned = std::holds_alternative<PutModified>(a.message);
    if (((g && g->access == Access::kWrite) || (w && !w->kept_read_only) || put_owned) &&
        c.state != LocalState::kInvalid) {
      throw std::runtime_error("node " + std::to_string(self) +
                               " gave away write access while still holding a copy");
    }
    if (g && g->access == Access::kRead && c.state == LocalState::kReadWrite) {
      throw std::runtime_error("node " + std::to_string(self) + " shared a page it still writes");
    }
    channel(self, a.to).emplace_back(self, a.message);
  }

  void Execute(NodeId self, std::vector<Action>& actions) {
    for (Action& a : actions) {
      Copy& c = copies_[self][a.page];
      switch (a.kind) {
        case Action::Kind::kSendLocalPage: {
          if (c.state == LocalState::kInvalid)
            throw std::runtime_error("sent a page it does not hold");
          PageBuffer d = pages_.Allocate();
          std::memset(d.mutable_data(), 0, abi::kPageSize);
          std::memcpy(d.mutable_data(), &c.value, sizeof(c.value));
          *DataOf(a.message) = std::move(d);
          if (a.drop_before_send) {
            c.state = LocalState::kInvalid;
            c.value = 0xdeadbeef;
          }
          Send(self, a);
          break;
        }
        case Action::Kind::kSend:
          Send(self, a);
          break;
        case Action::Kind::kInstallZero:
          c.value = 0;
          c.state = a.access == Access::kWrite ? LocalState::kReadWrite : LocalState::kReadOnly;
          break;
        case Action::Kind::kInstallData: {
          c.value = ValueOf(*DataOf(a.message));
          c.state = a.access == Access::kWrite ? LocalState::kReadWrite : LocalState::kReadOnly;
          break;
        }
        case Action::Kind::kProtect:
          c.state = LocalState::kReadOnly;
          break;
        case Action::Kind::kUnprotect:
          c.state = LocalState::kReadWrite;
          break;
        case Action::Kind::kDrop:
          c.state = LocalState::kInvalid;
          c.value = 0xdeadbeef;  // a stale read would show
          break;
        case Action::Kind::kWake:
          break;
      }
    }
  }

  uint32_t n_;
  PagePool pages_;
  std::vector<std::unique_ptr<CoherenceNode>> nodes_;
  std::vector<std::map<PageNumber, Copy>> copies_;
  std::map<std::pair<NodeId, NodeId>, std::deque<std::pair<NodeId, Message>>> channels_;
};

}  // namespace ssivm::dsm::testing

#endif  // SSIVM_DSM_COHERENCE_TEST_CLUSTER_H_

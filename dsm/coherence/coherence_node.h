// The DSM coherence protocol of one node, as pure logic (ARCHITECTURE.md,
// "DSM: coherence protocol"): the home directory for the pages this node is
// home of, and the local state of every shared page here. It neither touches
// memory nor sends: it returns the ordered actions for a thin layer (the
// userfaultfd fault engine and a transport) to perform.
//
// Home directory: Uncached | Shared{sharers} | Exclusive{owner}, a busy flag
// and a queue: the home serialises all transactions on a page. Invariants:
// in Shared the home itself holds a read-only copy (so it can always supply
// the data); in Exclusive{owner != home} it holds none. Single writer,
// multiple readers: sequential consistency for the guest.
// Channels between two nodes must be FIFO (TCP is).
#ifndef SSIVM_DSM_COHERENCE_COHERENCE_NODE_H_
#define SSIVM_DSM_COHERENCE_COHERENCE_NODE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

#include "dsm/coherence/page_entries.h"
#include "dsm/protocol/message.h"

namespace ssivm::dsm {

enum class LocalState : uint8_t { kInvalid, kReadOnly, kReadWrite };

struct Action {
  enum class Kind : uint8_t {
    kSend,           // send `message` to `to`
    kSendLocalPage,  // read the local copy NOW, put it in `message` (a Grant or
                     // WriteBack with its data), send it to `to`
    kInstallZero,    // local page := zeros, mapped with `access`
    kInstallData,    // local page := `message`'s data, mapped with `access`
    kProtect,        // local page becomes read-only (write-protect)
    kUnprotect,      // local page becomes writable
    kDrop,           // local page is discarded (next access faults)
    kWake,           // accesses waiting on `page` may retry
  };
  Kind kind;
  PageNumber page = 0;
  NodeId to = 0;
  Access access = Access::kRead;
  bool drop_before_send = false;
  bool eviction = false;  // a drop or send of eviction (not asked for by the home)
  Message message{};
};

class CoherenceNode {
 public:
  using HomeOf = std::function<NodeId(PageNumber)>;
  static constexpr uint32_t kMaxNodes = 64;
  static constexpr uint32_t kMigratoryGrants = 16;

  CoherenceNode(NodeId self, HomeOf home_of);

  NodeId self() const { return self_; }

  // A page this node already holds when the DSM starts (the loader wrote
  // it): it becomes this node's exclusive, writable page. Only for pages
  // homed here and not yet touched by the protocol; throws Error otherwise.
  void AdoptLocalPage(PageNumber page);

  // A page every node loaded itself (kernel text): read-only everywhere,
  // shared by every one of `members` (this node among them) from the start.
  // Call on every member. Not counted in the cache (it is never evicted
  // unless it was invalidated and fetched again).
  void AdoptReplicatedPage(PageNumber page, const std::vector<NodeId>& members);

  // At most `pages` copies of pages homed elsewhere stay here (0: no
  // limit). Beyond it the node evicts by clock (second chance: a page
  // installed, upgraded or faulted on since it was last looked at stays
  // once more, and so does the page the current call installed): a
  // read-only copy is dropped and the home told (PutShared), an owned page
  // is protected, read, dropped and sent home (PutModified). Fault and
  // Receive then return those evictions after their own actions.
  void SetCacheLimit(uint64_t pages);

  // A local access faulted (read or write). Returns what to do; empty if a
  // request for the page is already in flight (the access retries when the
  // grant wakes it).
  std::vector<Action> Fault(PageNumber page, bool write);
  // A message from a peer. Throws Error naming the peer and the page when
  // the message contradicts the protocol (a confused or hostile peer).
  std::vector<Action> Receive(NodeId from, const Message& m);
  // Gives up this node's copy of `page` now, as eviction does; empty if
  // it cannot (no copy, homed here, a request in flight).
  std::vector<Action> Evict(PageNumber page);

  LocalState local_state(PageNumber page) const;
  bool pending(PageNumber page) const;

  // Directory view, for tests and statistics.
  enum class DirState : uint8_t { kUncached, kShared, kExclusive };
  DirState dir_state(PageNumber page) const;
  bool dir_busy(PageNumber page) const;

  struct Counters {
    uint64_t cached_pages = 0;       // copies of pages homed elsewhere held now
    uint64_t cache_limit_pages = 0;  // SetCacheLimit's (0: none)
    uint64_t evicted_clean = 0;      // read-only copies dropped (PutShared)
    uint64_t written_back = 0;       // owned pages sent home (PutModified)
    uint64_t metadata_bytes = 0;     // page entries, side table and clock
    uint64_t metadata_pages = 0;     // pages those entries cover
  };
  Counters counters() const;

 private:
  struct Txn {
    NodeId requester = 0;
    bool write = false;
    bool requester_had_copy = false;
    uint32_t acks_pending = 0;
  };
  // What the home keeps only while a page is busy: the transaction and the
  // requests that wait for it (one per node at most).
  struct Busy {
    Txn txn;
    std::deque<std::pair<NodeId, bool>> queue;  // (requester, write)
  };

  void Dispatch(NodeId from, const Message& m);
  void Emit(NodeId to, Message m);
  void DrainSelfQueue();
  void Request(NodeId from, PageNumber page, bool write);
  void Process(PageNumber page, NodeId r, bool write);
  void CompleteInvalidation(PageNumber page);
  void CompleteForward(NodeId from, PageNumber page, const PageBuffer& data, bool owner_kept_copy);
  void Finish(PageNumber page);
  void GrantTo(NodeId r, PageNumber page, Access access, DataKind kind,
               bool drop_before_send = false);
  void OnInvalidateAck(NodeId from, PageNumber page);
  void OnWriteBack(NodeId from, const WriteBack& wb);
  void OnPutShared(NodeId from, PageNumber page);
  void OnPutModified(NodeId from, const PutModified& pm);
  void OnGrant(NodeId from, const Grant& g);
  void OnInvalidate(NodeId from, PageNumber page);
  void OnForward(NodeId from, const Forward& f);
  void Local(Action::Kind kind, PageNumber page, Access access = Access::kRead);
  void SetLocal(PageNumber page, PageEntry& e, LocalState state);
  void EvictPage(PageNumber page, PageEntry& e);
  void EvictOverLimit();
  PageEntry& HomeDir(NodeId from, PageNumber page, const char* what);
  Busy& BusyOf(PageNumber page);
  [[noreturn]] void Violation(NodeId from, PageNumber page, const char* what) const;

  const NodeId self_;
  const HomeOf home_of_;
  PageEntries entries_;
  std::unordered_map<PageNumber, Busy> busy_;
  std::deque<std::pair<NodeId, Message>> self_queue_;
  std::vector<Action>* out_ = nullptr;
  // The cache of pages homed elsewhere, and its clock.
  uint64_t cache_limit_ = 0;
  uint64_t cached_ = 0;
  uint64_t evicted_clean_ = 0;
  uint64_t written_back_ = 0;
  static constexpr PageNumber kNoPage = ~PageNumber{0};
  std::deque<PageNumber> clock_;
  PageNumber fresh_ = kNoPage;  // the page the current call installed
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_COHERENCE_COHERENCE_NODE_H_

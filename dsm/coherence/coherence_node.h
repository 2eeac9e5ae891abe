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
  // Call on every member.
  void AdoptReplicatedPage(PageNumber page, const std::vector<NodeId>& members);

  // A local access faulted (read or write). Returns what to do; empty if a
  // request for the page is already in flight (the access retries when the
  // grant wakes it).
  std::vector<Action> Fault(PageNumber page, bool write);
  // A message from a peer. Throws Error naming the peer and the page when
  // the message contradicts the protocol (a confused or hostile peer).
  std::vector<Action> Receive(NodeId from, const Message& m);

  LocalState local_state(PageNumber page) const;
  bool pending(PageNumber page) const;

  // Directory view, for tests and statistics.
  enum class DirState : uint8_t { kUncached, kShared, kExclusive };
  DirState dir_state(PageNumber page) const;
  bool dir_busy(PageNumber page) const;

 private:
  struct Client {
    LocalState state = LocalState::kInvalid;
    bool pending = false;
  };
  struct Txn {
    NodeId requester = 0;
    bool write = false;
    bool requester_had_copy = false;
    uint32_t acks_pending = 0;
  };
  struct Dir {
    DirState state = DirState::kUncached;
    uint64_t sharers = 0;  // bit n: node n holds a read-only copy
    NodeId owner = 0;
    bool busy = false;
    // Migratory sharing: the page goes from one node's read-then-write to
    // another's. Then a read is granted ownership at once (one transfer
    // instead of a shared grant plus an upgrade), for the next
    // kMigratoryGrants reads: the home cannot see whether a reader went on
    // to write, so the pattern must show itself again to keep the mode.
    uint32_t migratory = 0;  // reads left to grant exclusively
    bool had_owner = false;  // prev_owner is valid
    NodeId prev_owner = 0;   // the last exclusive owner before Shared
    Txn txn;
    std::deque<std::pair<NodeId, bool>> queue;  // (requester, write)
  };

  void Dispatch(NodeId from, const Message& m);
  void Emit(NodeId to, Message m);
  void Request(NodeId from, PageNumber page, bool write);
  void Process(PageNumber page, NodeId r, bool write);
  void CompleteInvalidation(PageNumber page);
  void Finish(PageNumber page);
  void GrantTo(NodeId r, PageNumber page, Access access, DataKind kind,
               bool drop_before_send = false);
  void OnInvalidateAck(NodeId from, PageNumber page);
  void OnWriteBack(NodeId from, const WriteBack& wb);
  void OnGrant(NodeId from, const Grant& g);
  void OnInvalidate(NodeId from, PageNumber page);
  void OnForward(NodeId from, const Forward& f);
  void Local(Action::Kind kind, PageNumber page, Access access = Access::kRead);
  Dir& HomeDir(NodeId from, PageNumber page, const char* what);
  [[noreturn]] void Violation(NodeId from, PageNumber page, const char* what) const;

  const NodeId self_;
  const HomeOf home_of_;
  std::unordered_map<PageNumber, Client> clients_;
  std::unordered_map<PageNumber, Dir> dirs_;
  std::deque<std::pair<NodeId, Message>> self_queue_;
  std::vector<Action>* out_ = nullptr;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_COHERENCE_COHERENCE_NODE_H_

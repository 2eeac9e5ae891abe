#include "dsm/coherence/coherence_node.h"

#include <bit>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::dsm {
namespace {

uint64_t Bit(NodeId n) {
  return uint64_t{1} << n;
}
bool Has(uint64_t set, NodeId n) {
  return (set & Bit(n)) != 0;
}

}  // namespace

CoherenceNode::CoherenceNode(NodeId self, HomeOf home_of)
    : self_(self), home_of_(std::move(home_of)) {
  if (self_ >= kMaxNodes) throw Error(fmt::format("node id {} is beyond {}", self_, kMaxNodes - 1));
}

void CoherenceNode::AdoptLocalPage(PageNumber page) {
  if (home_of_(page) != self_) {
    throw Error(fmt::format("page {:#x} is resident at node {} but homed at node {}", page, self_,
                            home_of_(page)));
  }
  Dir& d = dirs_[page];
  if (d.state != DirState::kUncached || d.busy) {
    throw Error(fmt::format("page {:#x} cannot be adopted: the protocol already knows it", page));
  }
  d.state = DirState::kExclusive;
  d.owner = self_;
  clients_[page].state = LocalState::kReadWrite;
}

void CoherenceNode::AdoptReplicatedPage(PageNumber page, const std::vector<NodeId>& members) {
  uint64_t sharers = 0;
  for (NodeId n : members) {
    if (n >= kMaxNodes) throw Error(fmt::format("node id {} is beyond {}", n, kMaxNodes - 1));
    sharers |= Bit(n);
  }
  if (!Has(sharers, self_)) {
    throw Error(fmt::format("page {:#x} cannot be replicated on nodes this node {} is not one of",
                            page, self_));
  }
  if (home_of_(page) == self_) {
    Dir& d = dirs_[page];
    if (d.state != DirState::kUncached || d.busy) {
      throw Error(
          fmt::format("page {:#x} cannot be replicated: the protocol already knows it", page));
    }
    d.state = DirState::kShared;
    d.sharers = sharers;
  }
  clients_[page].state = LocalState::kReadOnly;
}

std::vector<Action> CoherenceNode::Fault(PageNumber page, bool write) {
  std::vector<Action> out;
  out_ = &out;
  Client& c = clients_[page];
  const bool allowed = write ? c.state == LocalState::kReadWrite : c.state != LocalState::kInvalid;
  if (allowed) {
    Local(Action::Kind::kWake, page);  // resolved meanwhile: just retry
  } else if (!c.pending) {
    c.pending = true;
    Emit(home_of_(page), write ? Message{GetModified{page}} : Message{GetShared{page}});
  }
  // Requests to ourselves (we are the page's home) are handled right here.
  while (!self_queue_.empty()) {
    auto [from, m] = std::move(self_queue_.front());
    self_queue_.pop_front();
    Dispatch(from, m);
  }
  out_ = nullptr;
  return out;
}

std::vector<Action> CoherenceNode::Receive(NodeId from, const Message& m) {
  if (from >= kMaxNodes || from == self_) {
    throw Error(fmt::format("message {} claims to come from node {}", MessageName(m), from));
  }
  std::vector<Action> out;
  out_ = &out;
  Dispatch(from, m);
  while (!self_queue_.empty()) {
    auto [f, msg] = std::move(self_queue_.front());
    self_queue_.pop_front();
    Dispatch(f, msg);
  }
  out_ = nullptr;
  return out;
}

void CoherenceNode::Dispatch(NodeId from, const Message& m) {
  const PageNumber page = PageOf(m);
  if (const auto* x = std::get_if<GetShared>(&m)) return Request(from, x->page, false);
  if (const auto* x = std::get_if<GetModified>(&m)) return Request(from, x->page, true);
  if (std::holds_alternative<InvalidateAck>(m)) return OnInvalidateAck(from, page);
  if (const auto* x = std::get_if<WriteBack>(&m)) return OnWriteBack(from, *x);
  if (const auto* x = std::get_if<Grant>(&m)) return OnGrant(from, *x);
  if (std::holds_alternative<Invalidate>(m)) return OnInvalidate(from, page);
  if (const auto* x = std::get_if<Forward>(&m)) return OnForward(from, *x);
  Violation(from, page, "sent a message the coherence protocol does not expect");
}

void CoherenceNode::Emit(NodeId to, Message m) {
  if (to == self_) {
    self_queue_.emplace_back(self_, std::move(m));
    return;
  }
  Action a{Action::Kind::kSend};
  a.page = PageOf(m);
  a.to = to;
  a.message = std::move(m);
  out_->push_back(std::move(a));
}

void CoherenceNode::Local(Action::Kind kind, PageNumber page, Access access) {
  Action a{kind};
  a.page = page;
  a.access = access;
  out_->push_back(std::move(a));
}

void CoherenceNode::Violation(NodeId from, PageNumber page, const char* what) const {
  throw Error(fmt::format("DSM protocol violation: node {} {} (page {:#x}, at node {})", from, what,
                          page, self_));
}

CoherenceNode::Dir& CoherenceNode::HomeDir(NodeId from, PageNumber page, const char* what) {
  if (home_of_(page) != self_) Violation(from, page, what);
  return dirs_[page];
}

// ---- Home side ---------------------------------------------------------------

void CoherenceNode::Request(NodeId from, PageNumber page, bool write) {
  Dir& d = HomeDir(from, page, "asked for a page this node is not home of");
  if (d.busy) {
    // A node waits for its Grant before it asks again: one queued request
    // per node and page, so the queue is bounded by the cluster's size.
    for (const auto& [queued, w] : d.queue) {
      if (queued == from) Violation(from, page, "asked again before its request was answered");
    }
    d.queue.emplace_back(from, write);
    return;
  }
  Process(page, from, write);
}

void CoherenceNode::Process(PageNumber page, NodeId r, bool write) {
  Dir& d = dirs_[page];
  const NodeId h = self_;
  Client& home_copy = clients_[page];
  if (!write && d.migratory > 0 && d.state == DirState::kExclusive && d.owner != r) {
    --d.migratory;
    write = true;
  }
  switch (d.state) {
    case DirState::kUncached:
      // First touch: a zero page, no data moves.
      if (write) {
        d.state = DirState::kExclusive;
        d.owner = r;
        if (r == h) {
          Local(Action::Kind::kInstallZero, page, Access::kWrite);
          home_copy.state = LocalState::kReadWrite;
        }
        GrantTo(r, page, Access::kWrite, r == h ? DataKind::kNone : DataKind::kZero);
      } else {
        Local(Action::Kind::kInstallZero, page, Access::kRead);
        home_copy.state = LocalState::kReadOnly;
        d.state = DirState::kShared;
        d.sharers = Bit(h) | Bit(r);
        GrantTo(r, page, Access::kRead, r == h ? DataKind::kNone : DataKind::kZero);
      }
      return;
    case DirState::kShared:
      if (!write) {
        const bool had = Has(d.sharers, r);
        // A third reader: the page is really read-shared.
        if (!had && (d.sharers & ~Bit(h) & ~Bit(r)) != 0) d.migratory = 0;
        d.sharers |= Bit(r);
        GrantTo(r, page, Access::kRead, had ? DataKind::kNone : DataKind::kBytes);
        return;
      }
      // Read from the last owner, now written here: the data migrates.
      if (Has(d.sharers, r) && d.had_owner && d.prev_owner != r) d.migratory = kMigratoryGrants;
      d.txn = Txn{r, true, Has(d.sharers, r), 0};
      for (NodeId n = 0; n < kMaxNodes; ++n) {
        if (n == r || n == h || !Has(d.sharers, n)) continue;
        Emit(n, Invalidate{page});
        ++d.txn.acks_pending;
      }
      if (d.txn.acks_pending == 0) {
        CompleteInvalidation(page);
      } else {
        d.busy = true;
      }
      return;
    case DirState::kExclusive:
      if (d.owner == r) {  // it already has all it can get
        GrantTo(r, page, write ? Access::kWrite : Access::kRead, DataKind::kNone);
        return;
      }
      if (d.owner == h) {
        // Give away our own writable copy: protect, then read, then send.
        Local(Action::Kind::kProtect, page);
        home_copy.state = LocalState::kReadOnly;
        if (write) {
          // Dropped before the grant leaves: the new writer may write at once.
          GrantTo(r, page, Access::kWrite, DataKind::kBytes, /*drop_before_send=*/true);
          home_copy.state = LocalState::kInvalid;
          d.owner = r;
        } else {
          GrantTo(r, page, Access::kRead, DataKind::kBytes);
          d.state = DirState::kShared;
          d.sharers = Bit(h) | Bit(r);
          d.had_owner = true;
          d.prev_owner = h;
        }
        return;
      }
      d.busy = true;
      d.txn = Txn{r, write, false, 0};
      Emit(d.owner, Forward{page, write ? Access::kWrite : Access::kRead});
      return;
  }
}

// Every other sharer has dropped its copy: the requester becomes the writer.
void CoherenceNode::CompleteInvalidation(PageNumber page) {
  Dir& d = dirs_[page];
  const NodeId r = d.txn.requester;
  Client& home_copy = clients_[page];
  if (r == self_) {
    Local(Action::Kind::kUnprotect, page, Access::kWrite);
    home_copy.state = LocalState::kReadWrite;
    GrantTo(r, page, Access::kWrite, DataKind::kNone);
  } else {
    // Our read-only copy is stable: read it for the grant if needed, and
    // drop it before the grant leaves (the new writer may write at once).
    if (d.txn.requester_had_copy) {
      Local(Action::Kind::kDrop, page);
      GrantTo(r, page, Access::kWrite, DataKind::kNone);
    } else {
      GrantTo(r, page, Access::kWrite, DataKind::kBytes, /*drop_before_send=*/true);
    }
    home_copy.state = LocalState::kInvalid;
  }
  d.state = DirState::kExclusive;
  d.owner = r;
  d.sharers = 0;
  Finish(page);
}

void CoherenceNode::Finish(PageNumber page) {
  Dir& d = dirs_[page];
  d.busy = false;
  while (!d.busy && !d.queue.empty()) {
    const auto [r, write] = d.queue.front();
    d.queue.pop_front();
    Process(page, r, write);
  }
}

void CoherenceNode::GrantTo(NodeId r, PageNumber page, Access access, DataKind kind,
                            bool drop_before_send) {
  if (r == self_) {
    self_queue_.emplace_back(self_, Grant{page, access, DataKind::kNone, {}});
    return;
  }
  Action a{kind == DataKind::kBytes ? Action::Kind::kSendLocalPage : Action::Kind::kSend};
  a.page = page;
  a.to = r;
  a.drop_before_send = drop_before_send;
  a.message = Grant{page, access, kind, {}};
  out_->push_back(std::move(a));
}

void CoherenceNode::OnInvalidateAck(NodeId from, PageNumber page) {
  Dir& d = HomeDir(from, page, "acknowledged an invalidation for a page homed elsewhere");
  if (!d.busy || d.txn.acks_pending == 0 || !Has(d.sharers, from)) {
    Violation(from, page, "sent an invalidation ack nobody asked for");
  }
  d.sharers &= ~Bit(from);
  if (--d.txn.acks_pending == 0) CompleteInvalidation(page);
}

void CoherenceNode::OnWriteBack(NodeId from, const WriteBack& wb) {
  const PageNumber page = wb.page;
  Dir& d = HomeDir(from, page, "wrote back a page homed elsewhere");
  if (!d.busy || d.state != DirState::kExclusive || d.owner != from || d.txn.acks_pending != 0 ||
      wb.kept_read_only == d.txn.write) {
    Violation(from, page, "sent a write-back nobody asked for");
  }
  const NodeId r = d.txn.requester;
  Client& home_copy = clients_[page];
  Action install{Action::Kind::kInstallData};
  install.page = page;
  install.message = wb;
  if (!d.txn.write) {
    // The owner kept a read-only copy; we keep one too and serve the reader.
    install.access = Access::kRead;
    out_->push_back(std::move(install));
    home_copy.state = LocalState::kReadOnly;
    d.state = DirState::kShared;
    d.sharers = Bit(from) | Bit(self_) | Bit(r);
    d.had_owner = true;
    d.prev_owner = from;
    GrantTo(r, page, Access::kRead, r == self_ ? DataKind::kNone : DataKind::kBytes);
  } else if (r == self_) {
    install.access = Access::kWrite;
    out_->push_back(std::move(install));
    home_copy.state = LocalState::kReadWrite;
    d.owner = r;
    GrantTo(r, page, Access::kWrite, DataKind::kNone);
  } else {
    // Pass the owner's data straight on to the new writer.
    Action a{Action::Kind::kSend};
    a.page = page;
    a.to = r;
    a.message = Grant{page, Access::kWrite, DataKind::kBytes, wb.data};
    out_->push_back(std::move(a));
    d.owner = r;
  }
  Finish(page);
}

// ---- Requester / holder side -------------------------------------------------

void CoherenceNode::OnGrant(NodeId from, const Grant& g) {
  if (from != home_of_(g.page)) Violation(from, g.page, "granted a page it is not home of");
  Client& c = clients_[g.page];
  if (!c.pending) Violation(from, g.page, "granted a page nobody asked for");
  const LocalState target =
      g.access == Access::kWrite ? LocalState::kReadWrite : LocalState::kReadOnly;
  if (from != self_) {
    switch (g.kind) {
      case DataKind::kZero:
        Local(Action::Kind::kInstallZero, g.page, g.access);
        c.state = target;
        break;
      case DataKind::kBytes: {
        Action a{Action::Kind::kInstallData};
        a.page = g.page;
        a.access = g.access;
        a.message = g;
        out_->push_back(std::move(a));
        c.state = target;
        break;
      }
      case DataKind::kNone:
        if (c.state == LocalState::kInvalid) {
          Violation(from, g.page, "granted access without data to a node holding no copy");
        }
        if (target == LocalState::kReadWrite && c.state != LocalState::kReadWrite) {
          Local(Action::Kind::kUnprotect, g.page, Access::kWrite);
          c.state = target;
        }
        break;
    }
  }
  c.pending = false;
  Local(Action::Kind::kWake, g.page);
}

void CoherenceNode::OnInvalidate(NodeId from, PageNumber page) {
  if (from != home_of_(page)) Violation(from, page, "invalidated a page it is not home of");
  Client& c = clients_[page];
  if (c.state != LocalState::kReadOnly)
    Violation(from, page, "invalidated a page not held read-only");
  Local(Action::Kind::kDrop, page);
  c.state = LocalState::kInvalid;
  Emit(from, InvalidateAck{page});
}

void CoherenceNode::OnForward(NodeId from, const Forward& f) {
  if (from != home_of_(f.page)) Violation(from, f.page, "forwarded a page it is not home of");
  Client& c = clients_[f.page];
  if (c.state != LocalState::kReadWrite)
    Violation(from, f.page, "forwarded a page not held writable");
  // The order matters: protect, then read, then (giving up ownership) drop,
  // then send.
  Local(Action::Kind::kProtect, f.page);
  Action a{Action::Kind::kSendLocalPage};
  a.page = f.page;
  a.to = from;
  a.drop_before_send = f.want == Access::kWrite;
  a.message = WriteBack{f.page, f.want == Access::kRead, {}};
  out_->push_back(std::move(a));
  c.state = f.want == Access::kRead ? LocalState::kReadOnly : LocalState::kInvalid;
}

LocalState CoherenceNode::local_state(PageNumber page) const {
  const auto it = clients_.find(page);
  return it == clients_.end() ? LocalState::kInvalid : it->second.state;
}

bool CoherenceNode::pending(PageNumber page) const {
  const auto it = clients_.find(page);
  return it != clients_.end() && it->second.pending;
}

CoherenceNode::DirState CoherenceNode::dir_state(PageNumber page) const {
  const auto it = dirs_.find(page);
  return it == dirs_.end() ? DirState::kUncached : it->second.state;
}

bool CoherenceNode::dir_busy(PageNumber page) const {
  const auto it = dirs_.find(page);
  return it != dirs_.end() && it->second.busy;
}

}  // namespace ssivm::dsm

#include "dsm/coherence/coherence_node.h"

#include <bit>

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::dsm {
namespace {

using DirState = CoherenceNode::DirState;

uint64_t Bit(NodeId n) {
  return uint64_t{1} << n;
}
bool Has(uint64_t set, NodeId n) {
  return (set & Bit(n)) != 0;
}
DirState DirOf(const PageEntry& e) {
  return static_cast<DirState>(e.dir);
}
void SetDir(PageEntry& e, DirState s) {
  e.dir = static_cast<uint8_t>(s);
}
LocalState StateOf(const PageEntry& e) {
  return static_cast<LocalState>(e.local);
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
  PageEntry& e = entries_[page];
  if (DirOf(e) != DirState::kUncached || e.has(PageEntry::kBusy)) {
    throw Error(fmt::format("page {:#x} cannot be adopted: the protocol already knows it", page));
  }
  SetDir(e, DirState::kExclusive);
  e.owner = static_cast<uint8_t>(self_);
  SetLocal(page, e, LocalState::kReadWrite);
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
  PageEntry& e = entries_[page];
  if (home_of_(page) == self_) {
    if (DirOf(e) != DirState::kUncached || e.has(PageEntry::kBusy)) {
      throw Error(
          fmt::format("page {:#x} cannot be replicated: the protocol already knows it", page));
    }
    SetDir(e, DirState::kShared);
    e.sharers = sharers;
  }
  e.local = static_cast<uint8_t>(LocalState::kReadOnly);  // not cached: see the header
}

void CoherenceNode::SetCacheLimit(uint64_t pages) {
  cache_limit_ = pages;
}

std::vector<Action> CoherenceNode::Fault(PageNumber page, bool write) {
  std::vector<Action> out;
  out_ = &out;
  fresh_ = kNoPage;
  PageEntry& e = entries_[page];
  const LocalState state = StateOf(e);
  const bool allowed = write ? state == LocalState::kReadWrite : state != LocalState::kInvalid;
  if (allowed) {
    e.set(PageEntry::kReferenced, true);
    Local(Action::Kind::kWake, page);  // resolved meanwhile: just retry
  } else if (!e.has(PageEntry::kPending)) {
    e.set(PageEntry::kPending, true);
    Emit(home_of_(page), write ? Message{GetModified{page}} : Message{GetShared{page}});
  }
  DrainSelfQueue();
  EvictOverLimit();
  out_ = nullptr;
  return out;
}

std::vector<Action> CoherenceNode::Receive(NodeId from, const Message& m) {
  if (from >= kMaxNodes || from == self_) {
    throw Error(fmt::format("message {} claims to come from node {}", MessageName(m), from));
  }
  std::vector<Action> out;
  out_ = &out;
  fresh_ = kNoPage;
  Dispatch(from, m);
  DrainSelfQueue();
  EvictOverLimit();
  out_ = nullptr;
  return out;
}

std::vector<Action> CoherenceNode::Evict(PageNumber page) {
  std::vector<Action> out;
  out_ = &out;
  EvictPage(page, entries_[page]);
  out_ = nullptr;
  return out;
}

// Requests to ourselves (we are the page's home) are handled right here.
void CoherenceNode::DrainSelfQueue() {
  while (!self_queue_.empty()) {
    auto [from, m] = std::move(self_queue_.front());
    self_queue_.pop_front();
    Dispatch(from, m);
  }
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
  if (std::holds_alternative<PutShared>(m)) return OnPutShared(from, page);
  if (const auto* x = std::get_if<PutModified>(&m)) return OnPutModified(from, *x);
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

// Every change of a local state goes through here: it keeps the count of
// cached pages (copies of pages homed elsewhere) and their clock.
void CoherenceNode::SetLocal(PageNumber page, PageEntry& e, LocalState state) {
  const bool had = StateOf(e) != LocalState::kInvalid;
  e.local = static_cast<uint8_t>(state);
  if (state == LocalState::kInvalid) {
    if (e.has(PageEntry::kCached)) {
      e.set(PageEntry::kCached, false);
      --cached_;
    }
    return;
  }
  // Installed or upgraded here: in use (a downgrade for a remote reader is not).
  if (!had || state == LocalState::kReadWrite) e.set(PageEntry::kReferenced, true);
  if (had || home_of_(page) == self_) return;
  e.set(PageEntry::kCached, true);
  ++cached_;
  fresh_ = page;
  if (cache_limit_ > 0 && !e.has(PageEntry::kInClock)) {
    e.set(PageEntry::kInClock, true);
    clock_.push_back(page);
    // Pages invalidated since they joined leave the clock only when the hand
    // reaches them: sweep them out before it outgrows the cache.
    if (clock_.size() > 2 * cache_limit_ + 64) {
      std::erase_if(clock_, [this](PageNumber p) {
        PageEntry& x = entries_[p];
        if (x.has(PageEntry::kCached)) return false;
        x.set(PageEntry::kInClock, false);
        return true;
      });
    }
  }
}

void CoherenceNode::Violation(NodeId from, PageNumber page, const char* what) const {
  throw Error(fmt::format("DSM protocol violation: node {} {} (page {:#x}, at node {})", from, what,
                          page, self_));
}

PageEntry& CoherenceNode::HomeDir(NodeId from, PageNumber page, const char* what) {
  if (home_of_(page) != self_) Violation(from, page, what);
  return entries_[page];
}

CoherenceNode::Busy& CoherenceNode::BusyOf(PageNumber page) {
  return busy_[page];
}

// ---- Home side ---------------------------------------------------------------

void CoherenceNode::Request(NodeId from, PageNumber page, bool write) {
  PageEntry& d = HomeDir(from, page, "asked for a page this node is not home of");
  if (d.has(PageEntry::kBusy)) {
    // A node waits for its Grant before it asks again: one queued request
    // per node and page, so the queue is bounded by the cluster's size.
    Busy& b = BusyOf(page);
    for (const auto& [queued, w] : b.queue) {
      if (queued == from) Violation(from, page, "asked again before its request was answered");
    }
    b.queue.emplace_back(from, write);
    return;
  }
  Process(page, from, write);
}

void CoherenceNode::Process(PageNumber page, NodeId r, bool write) {
  PageEntry& d = entries_[page];
  const NodeId h = self_;
  if (!write && d.migratory > 0 && DirOf(d) == DirState::kExclusive && d.owner != r) {
    --d.migratory;
    write = true;
  }
  switch (DirOf(d)) {
    case DirState::kUncached:
      // First touch: a zero page, no data moves.
      if (write) {
        SetDir(d, DirState::kExclusive);
        d.owner = static_cast<uint8_t>(r);
        if (r == h) {
          Local(Action::Kind::kInstallZero, page, Access::kWrite);
          SetLocal(page, d, LocalState::kReadWrite);
        }
        GrantTo(r, page, Access::kWrite, r == h ? DataKind::kNone : DataKind::kZero);
      } else {
        Local(Action::Kind::kInstallZero, page, Access::kRead);
        SetLocal(page, d, LocalState::kReadOnly);
        SetDir(d, DirState::kShared);
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
      {
        // Read from the last owner, now written here: the data migrates.
        if (Has(d.sharers, r) && d.has(PageEntry::kHadOwner) && d.prev_owner != r) {
          d.migratory = kMigratoryGrants;
        }
        Txn txn{r, true, Has(d.sharers, r), 0};
        for (NodeId n = 0; n < kMaxNodes; ++n) {
          if (n == r || n == h || !Has(d.sharers, n)) continue;
          Emit(n, Invalidate{page});
          ++txn.acks_pending;
        }
        BusyOf(page).txn = txn;
        if (txn.acks_pending == 0) {
          CompleteInvalidation(page);
        } else {
          d.set(PageEntry::kBusy, true);
        }
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
        SetLocal(page, d, LocalState::kReadOnly);
        if (write) {
          // Dropped before the grant leaves: the new writer may write at once.
          GrantTo(r, page, Access::kWrite, DataKind::kBytes, /*drop_before_send=*/true);
          SetLocal(page, d, LocalState::kInvalid);
          d.owner = static_cast<uint8_t>(r);
        } else {
          GrantTo(r, page, Access::kRead, DataKind::kBytes);
          SetDir(d, DirState::kShared);
          d.sharers = Bit(h) | Bit(r);
          d.set(PageEntry::kHadOwner, true);
          d.prev_owner = static_cast<uint8_t>(h);
        }
        return;
      }
      d.set(PageEntry::kBusy, true);
      BusyOf(page).txn = Txn{r, write, false, 0};
      Emit(d.owner, Forward{page, write ? Access::kWrite : Access::kRead});
      return;
  }
}

// Every other sharer has dropped its copy: the requester becomes the writer.
void CoherenceNode::CompleteInvalidation(PageNumber page) {
  PageEntry& d = entries_[page];
  const Txn txn = BusyOf(page).txn;
  const NodeId r = txn.requester;
  if (r == self_) {
    Local(Action::Kind::kUnprotect, page, Access::kWrite);
    SetLocal(page, d, LocalState::kReadWrite);
    GrantTo(r, page, Access::kWrite, DataKind::kNone);
  } else {
    // Our read-only copy is stable: read it for the grant if needed, and
    // drop it before the grant leaves (the new writer may write at once).
    if (txn.requester_had_copy) {
      Local(Action::Kind::kDrop, page);
      GrantTo(r, page, Access::kWrite, DataKind::kNone);
    } else {
      GrantTo(r, page, Access::kWrite, DataKind::kBytes, /*drop_before_send=*/true);
    }
    SetLocal(page, d, LocalState::kInvalid);
  }
  SetDir(d, DirState::kExclusive);
  d.owner = static_cast<uint8_t>(r);
  d.sharers = 0;
  Finish(page);
}

// The owner answered a Forward with the page's data (a WriteBack), or its
// eviction crossed the Forward (a PutModified: it kept no copy).
void CoherenceNode::CompleteForward(NodeId from, PageNumber page, const PageBuffer& data,
                                    bool owner_kept_copy) {
  PageEntry& d = entries_[page];
  const Txn txn = BusyOf(page).txn;
  const NodeId r = txn.requester;
  Action install{Action::Kind::kInstallData};
  install.page = page;
  install.message = Grant{page, Access::kRead, DataKind::kBytes, data};
  if (!txn.write) {
    // We keep a read-only copy (the invariant of Shared) and serve the reader.
    install.access = Access::kRead;
    out_->push_back(std::move(install));
    SetLocal(page, d, LocalState::kReadOnly);
    SetDir(d, DirState::kShared);
    d.sharers = Bit(self_) | Bit(r) | (owner_kept_copy ? Bit(from) : 0);
    d.set(PageEntry::kHadOwner, true);
    d.prev_owner = static_cast<uint8_t>(from);
    GrantTo(r, page, Access::kRead, r == self_ ? DataKind::kNone : DataKind::kBytes);
  } else if (r == self_) {
    install.access = Access::kWrite;
    out_->push_back(std::move(install));
    SetLocal(page, d, LocalState::kReadWrite);
    d.owner = static_cast<uint8_t>(r);
    GrantTo(r, page, Access::kWrite, DataKind::kNone);
  } else {
    // Pass the owner's data straight on to the new writer.
    Action a{Action::Kind::kSend};
    a.page = page;
    a.to = r;
    a.message = Grant{page, Access::kWrite, DataKind::kBytes, data};
    out_->push_back(std::move(a));
    d.owner = static_cast<uint8_t>(r);
  }
  Finish(page);
}

void CoherenceNode::Finish(PageNumber page) {
  PageEntry& d = entries_[page];
  d.set(PageEntry::kBusy, false);
  auto it = busy_.find(page);
  while (!d.has(PageEntry::kBusy) && it != busy_.end() && !it->second.queue.empty()) {
    const auto [r, write] = it->second.queue.front();
    it->second.queue.pop_front();
    Process(page, r, write);
    it = busy_.find(page);
  }
  if (!d.has(PageEntry::kBusy) && it != busy_.end()) busy_.erase(it);
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
  PageEntry& d = HomeDir(from, page, "acknowledged an invalidation for a page homed elsewhere");
  if (!d.has(PageEntry::kBusy) || BusyOf(page).txn.acks_pending == 0 || !Has(d.sharers, from)) {
    Violation(from, page, "sent an invalidation ack nobody asked for");
  }
  d.sharers &= ~Bit(from);
  if (--BusyOf(page).txn.acks_pending == 0) CompleteInvalidation(page);
}

void CoherenceNode::OnWriteBack(NodeId from, const WriteBack& wb) {
  PageEntry& d = HomeDir(from, wb.page, "wrote back a page homed elsewhere");
  if (!d.has(PageEntry::kBusy) || DirOf(d) != DirState::kExclusive || d.owner != from ||
      BusyOf(wb.page).txn.acks_pending != 0 || wb.kept_read_only == BusyOf(wb.page).txn.write) {
    Violation(from, wb.page, "sent a write-back nobody asked for");
  }
  CompleteForward(from, wb.page, wb.data, wb.kept_read_only);
}

// A sharer dropped its read-only copy (eviction).
void CoherenceNode::OnPutShared(NodeId from, PageNumber page) {
  PageEntry& d = HomeDir(from, page, "gave up a page homed elsewhere");
  if (DirOf(d) != DirState::kShared || !Has(d.sharers, from)) {
    Violation(from, page, "gave up a read-only copy it does not hold");
  }
  if (d.has(PageEntry::kBusy)) {
    // An invalidation round is under way and our Invalidate crosses the
    // put: its ack (which the sharer sends all the same) removes it. The
    // requester itself waits for its grant and gives nothing up meanwhile.
    if (BusyOf(page).txn.requester == from) {
      Violation(from, page, "gave up a page while it waits for it");
    }
    return;
  }
  d.sharers &= ~Bit(from);
}

// The owner sent its page home (eviction).
void CoherenceNode::OnPutModified(NodeId from, const PutModified& pm) {
  const PageNumber page = pm.page;
  PageEntry& d = HomeDir(from, page, "wrote back a page homed elsewhere");
  if (DirOf(d) != DirState::kExclusive || d.owner != from) {
    Violation(from, page, "wrote back a page it does not own");
  }
  if (d.has(PageEntry::kBusy)) {
    // Our Forward crosses the put: the put answers it (the owner ignores
    // the Forward when it comes).
    CompleteForward(from, page, pm.data, /*owner_kept_copy=*/false);
    return;
  }
  Action install{Action::Kind::kInstallData};
  install.page = page;
  install.access = Access::kWrite;
  install.message = Grant{page, Access::kWrite, DataKind::kBytes, pm.data};
  out_->push_back(std::move(install));
  SetLocal(page, d, LocalState::kReadWrite);
  d.owner = static_cast<uint8_t>(self_);
}

// ---- Requester / holder side -------------------------------------------------

void CoherenceNode::OnGrant(NodeId from, const Grant& g) {
  if (from != home_of_(g.page)) Violation(from, g.page, "granted a page it is not home of");
  PageEntry& c = entries_[g.page];
  if (!c.has(PageEntry::kPending)) Violation(from, g.page, "granted a page nobody asked for");
  const LocalState target =
      g.access == Access::kWrite ? LocalState::kReadWrite : LocalState::kReadOnly;
  if (from != self_) {
    switch (g.kind) {
      case DataKind::kZero:
        Local(Action::Kind::kInstallZero, g.page, g.access);
        SetLocal(g.page, c, target);
        break;
      case DataKind::kBytes: {
        Action a{Action::Kind::kInstallData};
        a.page = g.page;
        a.access = g.access;
        a.message = g;
        out_->push_back(std::move(a));
        SetLocal(g.page, c, target);
        break;
      }
      case DataKind::kNone:
        if (StateOf(c) == LocalState::kInvalid) {
          Violation(from, g.page, "granted access without data to a node holding no copy");
        }
        if (target == LocalState::kReadWrite && StateOf(c) != LocalState::kReadWrite) {
          Local(Action::Kind::kUnprotect, g.page, Access::kWrite);
          SetLocal(g.page, c, target);
        }
        break;
    }
    // Whatever crossed our put has arrived before this grant (FIFO).
    c.set(PageEntry::kPutInFlight, false);
  }
  c.set(PageEntry::kPending, false);
  Local(Action::Kind::kWake, g.page);
}

void CoherenceNode::OnInvalidate(NodeId from, PageNumber page) {
  if (from != home_of_(page)) Violation(from, page, "invalidated a page it is not home of");
  PageEntry& c = entries_[page];
  if (StateOf(c) == LocalState::kInvalid && c.has(PageEntry::kPutInFlight)) {
    // It crossed our PutShared: nothing left to drop, but the home counts acks.
    c.set(PageEntry::kPutInFlight, false);
  } else {
    if (StateOf(c) != LocalState::kReadOnly)
      Violation(from, page, "invalidated a page not held read-only");
    Local(Action::Kind::kDrop, page);
    SetLocal(page, c, LocalState::kInvalid);
  }
  Emit(from, InvalidateAck{page});
}

void CoherenceNode::OnForward(NodeId from, const Forward& f) {
  if (from != home_of_(f.page)) Violation(from, f.page, "forwarded a page it is not home of");
  PageEntry& c = entries_[f.page];
  if (StateOf(c) == LocalState::kInvalid && c.has(PageEntry::kPutInFlight)) {
    c.set(PageEntry::kPutInFlight, false);  // it crossed our PutModified, which answers it
    return;
  }
  if (StateOf(c) != LocalState::kReadWrite)
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
  SetLocal(f.page, c, f.want == Access::kRead ? LocalState::kReadOnly : LocalState::kInvalid);
}

// ---- Eviction ----------------------------------------------------------------

// Gives up this node's copy of a page homed elsewhere; nothing if it cannot
// (no copy, homed here, a request in flight).
void CoherenceNode::EvictPage(PageNumber page, PageEntry& e) {
  const NodeId home = home_of_(page);
  if (e.has(PageEntry::kPending) || StateOf(e) == LocalState::kInvalid || home == self_) return;
  if (StateOf(e) == LocalState::kReadOnly) {
    Local(Action::Kind::kDrop, page);
    out_->back().eviction = true;
    Emit(home, PutShared{page});
    ++evicted_clean_;
  } else {
    // As when ownership goes anywhere: protect, read, drop, send.
    Local(Action::Kind::kProtect, page);
    Action a{Action::Kind::kSendLocalPage};
    a.page = page;
    a.to = home;
    a.drop_before_send = true;
    a.eviction = true;
    a.message = PutModified{page, {}};
    out_->push_back(std::move(a));
    ++written_back_;
  }
  SetLocal(page, e, LocalState::kInvalid);
  e.set(PageEntry::kPutInFlight, true);
}

// The clock, as a second-chance queue: pages in the order they joined; the
// page at the front goes unless it was used since it was last looked at
// (installed, upgraded, or faulted on while present), has a request in
// flight, or is the page this very call installed (its vCPU has not run
// yet): those go to the back, their mark cleared. Bounded: every page is
// looked at most twice per call. With every other page in flight the cache
// may stay one page over for a while.
void CoherenceNode::EvictOverLimit() {
  if (cache_limit_ == 0) return;
  for (size_t steps = 2 * clock_.size() + 1; cached_ > cache_limit_ && !clock_.empty() && steps > 0;
       --steps) {
    const PageNumber page = clock_.front();
    clock_.pop_front();
    PageEntry& e = entries_[page];
    if (!e.has(PageEntry::kCached)) {
      e.set(PageEntry::kInClock, false);  // gone meanwhile (invalidated)
    } else if (page == fresh_ || e.has(PageEntry::kPending) || e.has(PageEntry::kReferenced)) {
      e.set(PageEntry::kReferenced, false);
      clock_.push_back(page);
    } else {
      e.set(PageEntry::kInClock, false);
      EvictPage(page, e);
    }
  }
}

// ---- Views -------------------------------------------------------------------

LocalState CoherenceNode::local_state(PageNumber page) const {
  const PageEntry* e = entries_.Find(page);
  return e ? StateOf(*e) : LocalState::kInvalid;
}

bool CoherenceNode::pending(PageNumber page) const {
  const PageEntry* e = entries_.Find(page);
  return e && e->has(PageEntry::kPending);
}

CoherenceNode::DirState CoherenceNode::dir_state(PageNumber page) const {
  const PageEntry* e = entries_.Find(page);
  return e ? DirOf(*e) : DirState::kUncached;
}

bool CoherenceNode::dir_busy(PageNumber page) const {
  const PageEntry* e = entries_.Find(page);
  return e && e->has(PageEntry::kBusy);
}

CoherenceNode::Counters CoherenceNode::counters() const {
  Counters c;
  c.cached_pages = cached_;
  c.cache_limit_pages = cache_limit_;
  c.evicted_clean = evicted_clean_;
  c.written_back = written_back_;
  // A side-table node: the key, the Busy and a link (its queue's blocks are
  // rare and not counted); the clock: one page number per slot.
  constexpr uint64_t kBusyNode = sizeof(PageNumber) + sizeof(Busy) + sizeof(void*);
  c.metadata_bytes = entries_.bytes() + busy_.size() * kBusyNode +
                     busy_.bucket_count() * sizeof(void*) + clock_.size() * sizeof(PageNumber);
  c.metadata_pages = entries_.pages();
  return c;
}

}  // namespace ssivm::dsm

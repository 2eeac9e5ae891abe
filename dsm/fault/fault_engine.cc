#include "dsm/fault/fault_engine.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include "common/error.h"
#include "common/thread_filter.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {
namespace {

alignas(abi::kPageSize) const uint8_t kZeroPage[abi::kPageSize] = {};

// Pages the loader already wrote (resident) before userfaultfd took over.
std::vector<PageNumber> ResidentPages(const SharedRam& ram) {
  std::vector<PageNumber> out;
  for (const SharedRegion& r : ram.regions()) {
    std::vector<unsigned char> vec(r.size / abi::kPageSize);
    if (::mincore(r.host, r.size, vec.data()) != 0) ThrowErrno("mincore of shared guest RAM");
    for (size_t i = 0; i < vec.size(); ++i) {
      if (vec[i] & 1) out.push_back(r.gpa / abi::kPageSize + i);
    }
  }
  return out;
}

}  // namespace

SharedRam::SharedRam(std::vector<SharedRegion> regions) : regions_(std::move(regions)) {
  if (regions_.empty()) throw Error("shared guest RAM has no region");
  for (size_t i = 0; i < regions_.size(); ++i) {
    const SharedRegion& r = regions_[i];
    if (r.size == 0 || r.gpa % abi::kPageSize != 0 || r.size % abi::kPageSize != 0 ||
        reinterpret_cast<uintptr_t>(r.host) % abi::kPageSize != 0) {
      throw Error(
          fmt::format("shared RAM region {:#x}+{:#x} is empty or not page aligned", r.gpa, r.size));
    }
    if (i > 0) {
      const SharedRegion& p = regions_[i - 1];
      if (r.gpa < p.gpa + p.size || r.host != p.host + p.size) {
        throw Error(fmt::format(
            "shared RAM region {:#x} must follow {:#x} in guest and be adjacent in host memory",
            r.gpa, p.gpa));
      }
    }
  }
}

uint64_t SharedRam::host_size() const {
  const SharedRegion& last = regions_.back();
  return static_cast<uint64_t>(last.host + last.size - regions_.front().host);
}

std::optional<uint64_t> SharedRam::HostAddress(PageNumber page) const {
  if (page > kMaxPageNumber) return std::nullopt;  // the address would wrap
  const uint64_t gpa = page * abi::kPageSize;
  for (const SharedRegion& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa < r.size)
      return reinterpret_cast<uint64_t>(r.host) + (gpa - r.gpa);
  }
  return std::nullopt;
}

std::optional<PageNumber> SharedRam::PageAt(uint64_t host_address) const {
  for (const SharedRegion& r : regions_) {
    const auto base = reinterpret_cast<uint64_t>(r.host);
    if (host_address >= base && host_address - base < r.size) {
      return (r.gpa + (host_address - base)) / abi::kPageSize;
    }
  }
  return std::nullopt;
}

FaultEngine::FaultEngine(NodeId self, SharedRam ram, CoherenceNode::HomeOf home_of,
                         cluster::Transport& transport, FatalHandler on_fatal,
                         const std::vector<PageNumber>& replicated,
                         const std::vector<NodeId>& members)
    : ram_(std::move(ram)),
      transport_(transport),
      on_fatal_(std::move(on_fatal)),
      node_(self, home_of),
      home_of_(std::move(home_of)),
      replicated_(replicated.begin(), replicated.end()),
      uffd_(ram_.host_base(), ram_.host_size()),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_.valid()) ThrowErrno("eventfd for the fault engine");
  transport_.SetHandler(cluster::Channel::kCoherence, this);
  for (PageNumber p : replicated) {
    node_.AdoptReplicatedPage(p, members);
    uffd_.WriteProtect(HostAddress(p), true);  // a write must ask the home first
  }
  for (PageNumber p : ResidentPages(ram_)) {
    if (!replicated_.count(p)) node_.AdoptLocalPage(p);
  }
}

FaultEngine::~FaultEngine() {
  Stop();
}

void FaultEngine::ReportStallsAfter(std::chrono::milliseconds after,
                                    std::function<void(const std::string&)> report) {
  stall_after_ = after;
  report_stall_ = std::move(report);
}

void FaultEngine::LimitCache(uint64_t pages) {
  std::lock_guard<std::mutex> lock(mu_);
  node_.SetCacheLimit(pages);
  // Pages fetched ahead must not push out the ones in use.
  if (pages > 0) {
    prefetch_.set_max_window(
        static_cast<uint32_t>(std::min<uint64_t>(pages / 4, prefetch_.max_window())));
  }
}

void FaultEngine::LimitPrefetch(uint32_t pages) {
  std::lock_guard<std::mutex> lock(mu_);
  prefetch_.set_max_window(pages);
}

void FaultEngine::Start() {
  thread_ = std::thread([this] { FaultLoop(); });
}

void FaultEngine::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
    thread_.join();
  }
}

uint64_t FaultEngine::HostAddress(PageNumber page) const {
  const std::optional<uint64_t> host = ram_.HostAddress(page);
  // Pages from peers are checked in Handle; the protocol names no others.
  if (!host) throw Error(fmt::format("page {:#x} is not shared guest RAM", page));
  return *host;
}

void FaultEngine::FaultLoop() {
  RestrictThisThread(ThreadKind::kFaultEngine);
  // Stalls are looked for twice per period: reported within 1.5 periods.
  const int wait_ms = stall_after_.count() > 0 ? static_cast<int>(stall_after_.count() / 2) : -1;
  for (;;) {
    pollfd fds[2] = {{uffd_.fd(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Fatal("poll on userfaultfd: " + ErrnoText(errno));
    }
    if (fds[1].revents) return;
    if (wait_ms > 0) ReportStalls();
    if (ready == 0) continue;
    try {
      while (const auto fault = uffd_.ReadFault()) {
        const std::optional<PageNumber> at = ram_.PageAt(fault->address);
        if (!at) continue;  // not ours (cannot happen: one registration)
        const PageNumber page = *at;
        // The request and those for the pages ahead are queued under mu_ (in
        // protocol order) and written in one go once it is released, so that
        // a quick answer does not find the lock still held.
        const cluster::SendBatch requests(transport_);
        std::lock_guard<std::mutex> lock(mu_);
        if (failed_) return;
        ++(fault->write ? stats_.write_faults : stats_.read_faults);
        page_faults_.Count(page);
        PendingFault& pending =
            pending_.try_emplace(page, PendingFault{std::chrono::steady_clock::now(), false, {}})
                .first->second;
        if (const auto v = vcpu_of_thread_.find(fault->tid);
            v != vcpu_of_thread_.end() && std::find(pending.vcpus.begin(), pending.vcpus.end(),
                                                    v->second) == pending.vcpus.end()) {
          pending.vcpus.push_back(v->second);
        }
        std::vector<Action> actions = node_.Fault(page, fault->write);
        Execute(actions);
        FetchAhead(fault->tid, page, fault->write);
      }
    } catch (const std::exception& e) {
      return Fatal(e.what());
    }
  }
}

void FaultEngine::OnReceive(NodeId from, std::span<const uint8_t> payload, PageBuffer page) {
  Handle(from, Decode(payload, std::move(page)));  // a bad message throws: the peer is lost
}

void FaultEngine::Handle(NodeId from, const Message& message) {
  const PageNumber page = PageOf(message);
  if (!ram_.Contains(page)) {
    throw Error(fmt::format("node {} named page {:#x}, outside shared guest RAM", from, page));
  }
  std::lock_guard<std::mutex> lock(received_mu_);
  received_.emplace_back(from, message);
}

// The protocol takes the messages of one read under one hold of mu_, then
// their page operations run together (ExecuteBatch); the answers go out
// after both (this thread's sends are corked until the end of the scope).
void FaultEngine::OnBatchEnd() noexcept {
  const cluster::SendBatch answers(transport_);
  std::vector<uint64_t> wake;
  try {
    std::vector<std::pair<NodeId, Message>> messages;
    {
      std::lock_guard<std::mutex> lock(received_mu_);
      messages.swap(received_);
    }
    if (messages.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (failed_) return;
      std::vector<std::pair<NodeId, Action>> batch;
      for (const auto& [from, message] : messages) {
        ++stats_.messages_handled;
        for (Action& a : node_.Receive(from, message)) batch.emplace_back(from, std::move(a));
      }
      ExecuteBatch(batch);
      wake.swap(wakes_);
    }
    // Once mu_ is released: the woken thread's next fault would otherwise
    // find it held (and both threads would sleep and wake once more).
    for (const uint64_t address : wake) uffd_.Wake(address);
  } catch (const std::exception& e) {
    Fatal(e.what());
  }
}

void FaultEngine::OnPeerLost(NodeId, const std::string& reason) {
  Fatal(fmt::format("lost {}; the guest cannot go on without its pages", reason));
}

void FaultEngine::Fatal(const std::string& reason) {
  if (!failed_.exchange(true)) on_fatal_(reason);
}

namespace {

// Host page addresses as runs of adjacent pages, ascending: (first, pages).
std::vector<std::pair<uint64_t, uint64_t>> Runs(std::vector<uint64_t> addresses) {
  std::sort(addresses.begin(), addresses.end());
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (const uint64_t a : addresses) {
    if (!runs.empty() && runs.back().first + runs.back().second * abi::kPageSize == a) {
      ++runs.back().second;
    } else {
      runs.emplace_back(a, 1);
    }
  }
  return runs;
}

}  // namespace

// Protecting or dropping a page changes a mapping KVM holds too: each call
// costs a TLB shootdown across the host's CPUs and the vCPUs. A batch (the
// requests for a window of pages fetched ahead, say) therefore protects its
// pages in runs before anything else and drops them in runs after
// everything else, wherever that keeps each page's own order: a page's
// protect goes first if nothing in the batch touched the page before it, its
// drop goes last if nothing touches the page after it. Protecting early is
// safe (the protocol already treats the page as read-only here: nothing is
// read from it for sending before its protect). Dropping late is safe
// because the batch's messages are handed to the transport only after the
// drops, in the order the protocol emitted them, all under mu_ (so no other
// thread's send can take them out earlier either): no node can write a page
// this node still maps. If an action fails, nothing of the batch is sent.
void FaultEngine::ExecuteBatch(std::vector<std::pair<NodeId, Action>>& batch) {
  std::unordered_map<PageNumber, size_t> first, last;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].second.kind == Action::Kind::kSend) continue;  // no local page
    first.try_emplace(batch[i].second.page, i);
    last[batch[i].second.page] = i;
  }
  const auto hoisted = [&](size_t i) {
    const Action& a = batch[i].second;
    return a.kind == Action::Kind::kProtect && first[a.page] == i;
  };
  std::vector<uint64_t> protect;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (hoisted(i)) protect.push_back(HostAddress(batch[i].second.page));
  }
  for (const auto& [address, pages] : Runs(std::move(protect))) {
    uffd_.WriteProtect(address, true, true, pages);
  }
  Later later;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (hoisted(i)) continue;  // done above
    auto& [from, a] = batch[i];
    later.drop_now = a.kind == Action::Kind::kSend || last[a.page] != i;
    ExecuteOne(a, from, &later);
  }
  for (const auto& [address, pages] : Runs(std::move(later.drops))) uffd_.Drop(address, pages);
  for (const auto& [to, message] : later.sends) Send(transport_, to, *message);
}

void FaultEngine::Execute(std::vector<Action>& actions) {
  for (Action& a : actions) ExecuteOne(a, std::nullopt, nullptr);
}

// Under mu_. Giving a page away is always protect (an earlier action), then
// read (here), then drop if ownership goes with it, then send. Sending under
// mu_ keeps each peer's messages in the order the protocol emitted them, and
// is safe: Transport::Send never blocks on the network (it queues). The
// threads that send (this engine's fault loop, the transport's receive
// thread) cork their sends, so the socket writes happen after mu_ is
// released. `from`: the peer whose message the action answers (none for a
// local fault). `later`: where sends, and drops unless `drop_now`, go
// instead of happening now (ExecuteBatch).
void FaultEngine::ExecuteOne(Action& a, std::optional<NodeId> from, Later* later) {
  const auto send = [&] {
    if (later != nullptr) {
      later->sends.emplace_back(a.to, &a.message);
    } else {
      Send(transport_, a.to, a.message);
    }
  };
  if (a.kind == Action::Kind::kSend) {  // no local page involved
    send();
    return;
  }
  const uint64_t addr = HostAddress(a.page);
  const auto drop = [&] {
    if (later != nullptr && !later->drop_now) {
      later->drops.push_back(addr);
    } else {
      uffd_.Drop(addr);
    }
    if (!a.eviction) ++stats_.invalidations;
    prefetched_for_.erase(a.page);
  };
  // Answers from peers wake the waiting threads after mu_ (OnBatchEnd);
  // pages nobody waits for (fetched ahead) wake no one. A thread that faulted
  // and is not in pending_ yet gets its wake when its fault is read.
  const auto wake_now = [&] {
    if (!from) return true;
    if (pending_.count(a.page)) wakes_.push_back(addr);
    return false;
  };
  switch (a.kind) {
    case Action::Kind::kSend:
      break;
    case Action::Kind::kSendLocalPage:
      // The one copy on this side: the socket sends from this buffer.
      *DataOf(a.message) = transport_.pages().CopyOf(reinterpret_cast<const void*>(addr));
      if (a.drop_before_send) drop();
      send();
      ++stats_.pages_sent;
      break;
    case Action::Kind::kInstallZero:
      uffd_.Install(addr, kZeroPage, a.access == Access::kWrite, wake_now());
      ++stats_.zero_fills;
      prefetched_for_.erase(a.page);
      Resolved(a.page);
      break;
    case Action::Kind::kInstallData: {
      const PageBuffer& data = *DataOf(a.message);
      uffd_.Install(addr, data.data(), a.access == Access::kWrite, wake_now());
      data.CountCopy();  // into guest memory
      ++stats_.pages_received;
      if (const auto p = pending_.find(a.page); from && p != pending_.end()) {
        for (const uint32_t vcpu : p->second.vcpus) ++vcpu_pages_from_[vcpu][*from];
      } else if (const auto f = prefetched_for_.find(a.page); from && f != prefetched_for_.end()) {
        ++vcpu_pages_from_[f->second][*from];  // fetched ahead of this vCPU
      }
      prefetched_for_.erase(a.page);
      Resolved(a.page);
      break;
    }
    case Action::Kind::kProtect:
      uffd_.WriteProtect(addr, true);
      break;
    case Action::Kind::kUnprotect:
      uffd_.WriteProtect(addr, false, wake_now());
      Resolved(a.page);
      break;
    case Action::Kind::kDrop:
      drop();
      break;
    case Action::Kind::kWake:
      if (wake_now()) uffd_.Wake(addr);
      Resolved(a.page);
      break;
  }
}

// Requests for the pages ahead of a stream of faults, as if they had
// faulted (with the same access), but nobody waits for them: pages not here
// (a stream of writes: not writable here) and not asked for already. Pages
// homed here come back from the node that holds them (or are zero-filled);
// a stream of writes takes the pages ahead exclusive, upgrading copies it
// reads already, so a node still reading them loses its copy early: the
// price of a stream that guessed wrong.
void FaultEngine::FetchAhead(uint32_t stream, PageNumber page, bool write) {
  for (const PageNumber q : prefetch_.OnFault(stream, page)) {
    if (!ram_.Contains(q) || node_.pending(q)) continue;
    const LocalState here = node_.local_state(q);
    if (write ? here == LocalState::kReadWrite : here != LocalState::kInvalid) continue;
    // Every node reads those (kernel text): taking them ahead would take them
    // from all, for a stream that merely ends next to them.
    if (write && replicated_.count(q)) continue;
    std::vector<Action> actions = node_.Fault(q, write);
    // Placement counts the page for the vCPU it was fetched for.
    if (const auto v = vcpu_of_thread_.find(stream); v != vcpu_of_thread_.end()) {
      prefetched_for_[q] = v->second;
    }
    Execute(actions);
    ++stats_.prefetched;
  }
}

void FaultEngine::ReportStalls() {
  std::vector<std::string> reports;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    for (auto& [page, pending] : pending_) {
      const auto since = pending.since;
      if (now - since < stall_after_ || pending.reported) continue;
      pending.reported = true;
      reports.push_back(fmt::format(
          "a fault on guest page {:#x} has waited {:.1f} s (its home: node {}); the DSM protocol "
          "is stuck on it",
          page * abi::kPageSize, std::chrono::duration<double>(now - since).count(),
          home_of_(page)));
    }
  }
  for (const std::string& r : reports) report_stall_(r);
}

void FaultEngine::Resolved(PageNumber page) {
  const auto it = pending_.find(page);
  if (it == pending_.end()) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - it->second.since)
                      .count();
  int b = 0;
  while (b + 1 < kLatencyBuckets && (int64_t{1} << (b + 1)) <= us) ++b;
  ++stats_.latency_us_log2[b];
  pending_.erase(it);
}

DsmStats FaultEngine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  DsmStats s = stats_;
  const CoherenceNode::Counters c = node_.counters();
  s.cached_pages = c.cached_pages;
  s.cache_limit_pages = c.cache_limit_pages;
  s.evicted_clean = c.evicted_clean;
  s.written_back = c.written_back;
  s.metadata_bytes = c.metadata_bytes;
  s.metadata_pages = c.metadata_pages;
  return s;
}

void FaultEngine::RegisterVcpuThread(uint32_t tid, uint32_t vcpu) {
  std::lock_guard<std::mutex> lock(mu_);
  vcpu_of_thread_[tid] = vcpu;
}

FaultEngine::VcpuPagesFrom FaultEngine::vcpu_pages_from() const {
  std::lock_guard<std::mutex> lock(mu_);
  return vcpu_pages_from_;
}

bool FaultEngine::VcpuWaits(uint32_t vcpu) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::any_of(pending_.begin(), pending_.end(), [vcpu](const auto& p) {
    return std::find(p.second.vcpus.begin(), p.second.vcpus.end(), vcpu) != p.second.vcpus.end();
  });
}

std::vector<std::pair<PageNumber, uint64_t>> FaultEngine::HottestPages(size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  return page_faults_.Top(n);
}

std::string FormatLatency(const DsmStats& s) {
  std::string out;
  for (int b = 0; b < kLatencyBuckets; ++b) {
    if (s.latency_us_log2[b] == 0) continue;
    out += fmt::format("{}<{}us:{}", out.empty() ? "" : " ", 1u << (b + 1), s.latency_us_log2[b]);
  }
  return out.empty() ? "none" : out;
}

}  // namespace ssivm::dsm

// Every page's protocol state on one node in 16 bytes (issue 13: metadata
// must stay a small fraction of the memory it describes), in chunks that
// are allocated when a page of theirs is first touched. Rare state (a
// transaction under way, queued requests) lives in a side table of the
// CoherenceNode, not here.
#ifndef SSIVM_DSM_COHERENCE_PAGE_ENTRIES_H_
#define SSIVM_DSM_COHERENCE_PAGE_ENTRIES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "dsm/protocol/message.h"

namespace ssivm::dsm {

struct PageEntry {
  // Flags.
  static constexpr uint16_t kBusy = 1 << 0;         // home: a transaction is under way
  static constexpr uint16_t kHadOwner = 1 << 1;     // home: prev_owner is valid
  static constexpr uint16_t kPending = 1 << 2;      // a request of ours is in flight
  static constexpr uint16_t kPutInFlight = 1 << 3;  // we gave the page up (eviction);
                                                    // the home may not have seen it yet
  static constexpr uint16_t kCached = 1 << 4;       // a copy of a page homed elsewhere,
                                                    // counted in the cache
  static constexpr uint16_t kInClock = 1 << 5;      // on the eviction clock
  static constexpr uint16_t kReferenced = 1 << 6;   // used since the clock hand passed

  uint64_t sharers = 0;    // home: bit n = node n holds a read-only copy
  uint8_t owner = 0;       // home: the exclusive owner
  uint8_t prev_owner = 0;  // home: the last exclusive owner before Shared
  uint8_t migratory = 0;   // home: reads left to grant exclusively
  uint8_t dir = 0;         // home: CoherenceNode::DirState
  uint8_t local = 0;       // LocalState here
  uint8_t unused = 0;
  uint16_t flags = 0;

  bool has(uint16_t f) const { return (flags & f) != 0; }
  void set(uint16_t f, bool on) { flags = on ? (flags | f) : (flags & ~f); }
};
static_assert(sizeof(PageEntry) == 16, "the per-page budget of issue 13");

class PageEntries {
 public:
  static constexpr uint64_t kChunkPages = 256;

  // The page's entry, its chunk allocated (zeroed: Invalid, Uncached) if new.
  PageEntry& operator[](PageNumber page);
  // nullptr if no page of its chunk was ever touched (then it is all zero).
  const PageEntry* Find(PageNumber page) const;

  // Pages with an entry (whole chunks), and the bytes their entries and the
  // chunk table take.
  uint64_t pages() const { return chunks_.size() * kChunkPages; }
  uint64_t bytes() const;

 private:
  using Chunk = std::array<PageEntry, kChunkPages>;
  std::unordered_map<uint64_t, std::unique_ptr<Chunk>> chunks_;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_COHERENCE_PAGE_ENTRIES_H_

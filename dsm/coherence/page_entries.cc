#include "dsm/coherence/page_entries.h"

namespace ssivm::dsm {

PageEntry& PageEntries::operator[](PageNumber page) {
  std::unique_ptr<Chunk>& chunk = chunks_[page / kChunkPages];
  if (!chunk) chunk = std::make_unique<Chunk>();
  return (*chunk)[page % kChunkPages];
}

const PageEntry* PageEntries::Find(PageNumber page) const {
  const auto it = chunks_.find(page / kChunkPages);
  return it == chunks_.end() ? nullptr : &(*it->second)[page % kChunkPages];
}

uint64_t PageEntries::bytes() const {
  // A table node holds the key, the pointer and a link; buckets are pointers.
  constexpr uint64_t kNode = sizeof(uint64_t) + sizeof(std::unique_ptr<Chunk>) + sizeof(void*);
  return chunks_.size() * (sizeof(Chunk) + kNode) + chunks_.bucket_count() * sizeof(void*);
}

}  // namespace ssivm::dsm

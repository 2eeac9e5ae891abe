#include "common/page_buffer.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace ssivm {

struct PagePoolState {
  explicit PagePoolState(size_t keep) : keep_free(keep) {}
  ~PagePoolState() {
    for (uint8_t* p : free) std::free(p);
  }
  PagePoolState(const PagePoolState&) = delete;
  PagePoolState& operator=(const PagePoolState&) = delete;

  const size_t keep_free;
  std::mutex mu;
  std::vector<uint8_t*> free;  // guarded by mu
  std::atomic<uint64_t> copies{0};
  std::atomic<uint64_t> allocations{0};
  std::atomic<uint64_t> live{0};
};

namespace {

uint8_t* NewPage() {
  void* p = std::aligned_alloc(abi::kPageSize, abi::kPageSize);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

}  // namespace

void PageBuffer::CopyTo(void* dst) const {
  std::memcpy(dst, bytes_.get(), abi::kPageSize);
  CountCopy();
}

void PageBuffer::CountCopy() const {
  // An empty (moved-from) handle may name a pool that is gone.
  if (bytes_ != nullptr && pool_ != nullptr) pool_->copies.fetch_add(1, std::memory_order_relaxed);
}

bool PageBuffer::SameBytes(const PageBuffer& o) const {
  if (!*this || !o) return !*this && !o;
  return std::memcmp(data(), o.data(), abi::kPageSize) == 0;
}

PagePool::PagePool(size_t keep_free) : state_(std::make_shared<PagePoolState>(keep_free)) {}

PageBuffer PagePool::Allocate() {
  uint8_t* page = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->free.empty()) {
      page = state_->free.back();
      state_->free.pop_back();
    }
  }
  if (page == nullptr) page = NewPage();
  state_->allocations.fetch_add(1, std::memory_order_relaxed);
  state_->live.fetch_add(1, std::memory_order_relaxed);
  // The deleter holds the pool's state: a buffer may outlive its PagePool.
  std::shared_ptr<uint8_t> bytes(page, [state = state_](uint8_t* p) {
    state->live.fetch_sub(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(state->mu);
      if (state->free.size() < state->keep_free) {
        state->free.push_back(p);
        return;
      }
    }
    std::free(p);
  });
  return {std::move(bytes), state_.get()};
}

PageBuffer PagePool::CopyOf(const void* src) {
  PageBuffer b = Allocate();
  std::memcpy(b.mutable_data(), src, abi::kPageSize);
  b.CountCopy();
  return b;
}

PagePool::Stats PagePool::stats() const {
  return {state_->copies.load(std::memory_order_relaxed),
          state_->allocations.load(std::memory_order_relaxed),
          state_->live.load(std::memory_order_relaxed)};
}

}  // namespace ssivm

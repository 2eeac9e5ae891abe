// Randomized: many nodes' worth of reads and writes through the pure
// protocol, messages delivered in random interleavings (FIFO per channel).
// Every read must return the value of a single-copy reference memory, and
// the single-writer/multiple-reader invariant must hold after every step.
#include <random>

#include <gtest/gtest.h>

#include "dsm/coherence/test_cluster.h"

namespace ssivm::dsm {
namespace {

struct Params {
  uint32_t nodes;
  uint32_t pages;
  uint64_t seed;
  // Eviction: each node keeps at most this many pages homed elsewhere (0:
  // no limit), and one step in `evict_every` (0: never) evicts a random page.
  uint32_t cache_limit = 0;
  uint32_t evict_every = 0;
};

class SequentialConsistency : public ::testing::TestWithParam<Params> {};

TEST_P(SequentialConsistency, ReadsSeeTheSingleCopyMemory) {
  const Params p = GetParam();
  testing::TestCluster cluster(p.nodes, p.nodes);
  for (NodeId n = 0; n < p.nodes; ++n) cluster.node(n).SetCacheLimit(p.cache_limit);
  std::mt19937_64 rng(p.seed);
  std::vector<uint64_t> reference(p.pages, 0);
  uint64_t next_value = 1, reads = 0, writes = 0, faults = 0;
  for (int step = 0; step < 50000; ++step) {
    const auto busy = cluster.BusyChannels();
    if (p.evict_every > 0 && rng() % p.evict_every == 0) {
      cluster.Evict(static_cast<NodeId>(rng() % p.nodes), rng() % p.pages);
    } else if (!busy.empty() && rng() % 2 == 0) {
      const auto [from, to] = busy[rng() % busy.size()];
      cluster.Deliver(from, to);
    } else {
      const auto n = static_cast<NodeId>(rng() % p.nodes);
      const PageNumber page = rng() % p.pages;
      const bool write = rng() % 3 == 0;
      auto& c = cluster.copy(n, page);
      if (write && c.state == LocalState::kReadWrite) {
        c.value = reference[page] = next_value++;
        ++writes;
      } else if (!write && c.state != LocalState::kInvalid) {
        ASSERT_EQ(c.value, reference[page]) << "node " << n << " read a stale value, step " << step;
        ++reads;
      } else {
        cluster.Fault(n, page, write);
        ++faults;
      }
    }
    for (PageNumber page = 0; page < p.pages; ++page) {
      ASSERT_EQ(cluster.Check(page, reference[page]), "") << "page " << page << " step " << step;
    }
    if (p.cache_limit > 0) {
      // One over while every other cached page has a request in flight.
      for (NodeId n = 0; n < p.nodes; ++n) {
        ASSERT_LE(cluster.node(n).counters().cached_pages, p.cache_limit + 1) << "node " << n;
      }
    }
  }
  // Drain: every request in flight must complete (no deadlock, no lost grant).
  for (int i = 0; cluster.InFlight() > 0 && i < 1000000; ++i) {
    const auto busy = cluster.BusyChannels();
    const auto [from, to] = busy[rng() % busy.size()];
    cluster.Deliver(from, to);
  }
  EXPECT_EQ(cluster.InFlight(), 0u);
  for (NodeId n = 0; n < p.nodes; ++n) {
    for (PageNumber page = 0; page < p.pages; ++page) {
      EXPECT_FALSE(cluster.node(n).pending(page)) << "node " << n << " page " << page;
      EXPECT_FALSE(cluster.node(page % p.nodes).dir_busy(page));
      EXPECT_EQ(cluster.Check(page, reference[page]), "");
    }
  }
  EXPECT_GT(reads, 1000u);
  EXPECT_GT(writes, 50u);
  EXPECT_GT(faults, 1000u);
  if (p.cache_limit > 0 || p.evict_every > 0) {
    uint64_t clean = 0, dirty = 0;
    for (NodeId n = 0; n < p.nodes; ++n) {
      clean += cluster.node(n).counters().evicted_clean;
      dirty += cluster.node(n).counters().written_back;
    }
    EXPECT_GT(clean, 100u);
    EXPECT_GT(dirty, 100u);
  }
}

INSTANTIATE_TEST_SUITE_P(Clusters, SequentialConsistency,
                         ::testing::Values(Params{2, 3, 1}, Params{3, 4, 2}, Params{4, 2, 3},
                                           Params{4, 6, 4}, Params{5, 3, 5}, Params{8, 4, 6},
                                           Params{2, 1, 7}, Params{6, 1, 8}));

// Eviction races (evict vs. invalidate, a write-back crossing a forward or
// a new request): random evictions, and caches too small for the pages.
INSTANTIATE_TEST_SUITE_P(Evicting, SequentialConsistency,
                         ::testing::Values(Params{2, 3, 11, 0, 5}, Params{3, 4, 12, 0, 7},
                                           Params{4, 6, 13, 1, 0}, Params{5, 8, 14, 2, 0},
                                           Params{3, 9, 15, 2, 11}, Params{8, 4, 16, 1, 9},
                                           Params{2, 1, 17, 0, 3}, Params{6, 2, 18, 1, 0}));

}  // namespace
}  // namespace ssivm::dsm

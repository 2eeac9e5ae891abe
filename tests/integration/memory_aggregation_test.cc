// Memory aggregation: a guest larger than what one node may hold. Node 0
// gives 24 MiB of the guest's RAM (the kernel is loaded at 16 MiB, in the
// device node's home) and keeps at most 4 MiB of the other nodes' pages
// (`cache_mib`); nodes 1 and 2 give 40 MiB each: the 104 MiB guest is over
// 3x node 0's budget. memtest walks the memory homed on nodes
// 1 and 2 from CPU 0 alone (node 0's), then every node's memory from every
// CPU: no word is wrong, node 0 evicts (clean copies dropped, dirty pages
// written back), and neither its own counters nor /proc ever show it
// holding more than its budget.
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "tests/support/emulation.h"
#include "tests/support/local_nodes.h"
#include "tests/support/node_process.h"

namespace ssivm {
namespace {

using testing::ForRuntime;
using testing::LocalNodes;
using testing::PortBase;
using testing::VmTimeout;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kNode0Mib = 24;
constexpr uint64_t kOtherMib = 40;
constexpr uint64_t kCacheMib = 4;

// The resident bytes of the largest anonymous mapping of `pid`: the guest's
// RAM (every other mapping of a node process is far smaller).
uint64_t GuestRamResident(pid_t pid) {
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  uint64_t best_size = 0, best_rss = 0, size = 0;
  bool anonymous = false;
  while (std::getline(smaps, line)) {
    std::istringstream in(line);
    std::string first;
    in >> first;
    if (first.find('-') != std::string::npos && first.back() != ':') {
      // "start-end perms offset dev inode [path]"
      std::string perms, offset, dev, inode, path;
      in >> perms >> offset >> dev >> inode >> path;
      anonymous = path.empty();
      size = 0;
    } else if (first == "Size:") {
      in >> size;
    } else if (first == "Rss:" && anonymous && size > best_size) {
      best_size = size;
      in >> best_rss;
    }
  }
  return best_rss * 1024;
}

TEST(MemoryAggregation, AGuestThreeTimesANodesBudgetRunsWithinIt) {
  // From CPU 0 alone: 36 MiB of node 1's memory and of node 2's (nearly all
  // of what the guest's allocator has there); then every CPU on each node's.
  // Emulated, a third of it (still 3x node 0's cache from one CPU).
  const std::string run = ForRuntime(
      std::string("memtest:36:1:1:1,memtest:36:1:2:1,memtest:4:1:0,memtest:36:1:1,"
                  "memtest:36:1:2"),
      std::string("memtest:12:1:1:1,memtest:12:1:2:1,memtest:2:1:0,memtest:8:1:1,memtest:8:1:2"));
  LocalNodes vm("agg", PortBase() + 90, "ssi.run=" + run,
                {.nodes = 3,
                 .memory_mib = {kNode0Mib, kOtherMib, kOtherMib},
                 .node_lines = "cache_mib = " + std::to_string(kCacheMib) + "\n",
                 .node0_args = {"--placement", "off"}});
  ASSERT_TRUE(vm.node0().WaitFor("all 3 cpus online", VmTimeout(std::chrono::seconds(180))))
      << vm.node0().out();
  // Watch node 0 while the workloads run: its counters and its RSS.
  std::atomic<bool> done{false};
  uint64_t most_cached = 0, most_resident = 0, limit = 0;
  nlohmann::json last;
  std::thread watcher([&] {
    while (!done) {
      try {
        last = vm.Ask(0, {{"cmd", "status"}})["dsm"];
        most_cached = std::max(most_cached, last["cached_pages"].get<uint64_t>());
        limit = last["cache_limit_pages"].get<uint64_t>();
      } catch (const Error&) {
        return;  // the guest powered off
      }
      most_resident = std::max(most_resident, GuestRamResident(vm.node0().pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  const int status = vm.node0().WaitExit(VmTimeout(std::chrono::seconds(600)));
  done = true;
  watcher.join();
  const std::string& out = vm.node0().out();
  EXPECT_EQ(status, 0) << out;
  size_t passed = 0;
  for (size_t at = 0; (at = out.find("RESULT memtest PASS", at)) != std::string::npos; ++at) {
    ++passed;
  }
  EXPECT_EQ(passed, 5u) << out;
  EXPECT_EQ(out.find("RESULT memtest FAIL"), std::string::npos) << out;
  EXPECT_EQ(limit, kCacheMib * kMiB / 4096);
  EXPECT_LE(most_cached, limit);
  EXPECT_GT(last.value("evicted_clean", 0u), 1000u) << last.dump();
  EXPECT_GT(last.value("written_back", 0u), 1000u) << last.dump();
  // Its own RAM, the cache, and room for the node-private region, the
  // kernel every node loads and a page per fault in flight; without
  // eviction node 0 would hold up to 72 MiB more.
  EXPECT_LE(most_resident, (kNode0Mib + kCacheMib + 8) * kMiB) << most_resident / kMiB << " MiB";
  EXPECT_GT(most_resident, kCacheMib * kMiB);  // the measurement sees the guest's RAM
}

}  // namespace
}  // namespace ssivm

// Sequential and strided prefetch: a stream of demand faults (one thread's,
// e.g. a vCPU's) at a constant stride makes the DSM ask for the pages ahead
// of it before they are touched, so their round trips overlap instead of
// adding up. Pure logic: the fault engine asks it which pages to request.
//
// A stream is recognised after `min_run` faults at the same stride (up to
// kMaxStride pages). Once it runs, the next demand fault of the stream
// usually lands just past what was fetched (the fetched pages no longer
// fault) or on a page still on its way: either way the window did not
// cover the latency, so it doubles, up to `max_window`. Any other fault
// ends the stream.
#ifndef SSIVM_DSM_FAULT_PREFETCH_H_
#define SSIVM_DSM_FAULT_PREFETCH_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "dsm/protocol/message.h"

namespace ssivm::dsm {

class Prefetch {
 public:
  static constexpr int64_t kMaxStride = 64;
  static constexpr size_t kMaxStreams = 256;
  struct Config {
    uint32_t min_run = 2;  // faults at one stride before prefetching starts
    uint32_t first_window = 4;
    uint32_t max_window = 64;  // 0: no prefetch
  };

  explicit Prefetch(Config config) : config_(config) {}
  Prefetch() : Prefetch(Config{}) {}

  // Stream `stream` (e.g. a thread id) faulted on `page` on demand: the
  // pages to request ahead of it, nearest first, none asked for before by
  // this stream. The caller skips those it holds or has asked for already.
  std::vector<PageNumber> OnFault(uint32_t stream, PageNumber page);

  void set_max_window(uint32_t pages) { config_.max_window = pages; }
  uint32_t max_window() const { return config_.max_window; }

 private:
  struct Stream {
    PageNumber last = 0;
    int64_t stride = 0;  // 0: no stream
    uint32_t run = 0;
    uint32_t window = 0;
    PageNumber ahead = 0;  // the furthest page requested (in stride steps)
  };
  Config config_;
  std::unordered_map<uint32_t, Stream> streams_;
};

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_FAULT_PREFETCH_H_

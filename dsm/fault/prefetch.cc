#include "dsm/fault/prefetch.h"

#include <algorithm>

namespace ssivm::dsm {

std::vector<PageNumber> Prefetch::OnFault(uint32_t stream, PageNumber page) {
  if (streams_.size() >= kMaxStreams && streams_.find(stream) == streams_.end()) {
    streams_.clear();  // threads come and go: forget them all rather than grow
  }
  auto [it, fresh] = streams_.try_emplace(stream);
  Stream& s = it->second;
  const auto d = static_cast<int64_t>(page - s.last);
  s.last = page;
  if (fresh) return {};
  // Inside the stream: one stride on, or past pages fetched ahead (which no
  // longer fault), or onto one still on its way.
  const bool continues = s.stride != 0 && d != 0 && d % s.stride == 0 && d / s.stride > 0 &&
                         d / s.stride <= static_cast<int64_t>(s.window) + 1;
  if (!continues) {
    const bool strided = d != 0 && d >= -kMaxStride && d <= kMaxStride;
    s.stride = strided ? d : 0;
    s.run = strided ? 1 : 0;
    s.window = 0;
    s.ahead = page;
    return {};
  }
  if (++s.run < config_.min_run || config_.max_window == 0) return {};
  s.window = std::min(config_.max_window, s.window == 0 ? config_.first_window : 2 * s.window);
  // From one stride past what was asked for already (or past the page)
  // to `window` strides past the page.
  const auto steps_done = static_cast<int64_t>(s.ahead - page) / s.stride;
  std::vector<PageNumber> out;
  for (int64_t k = std::max<int64_t>(steps_done, 0) + 1; k <= static_cast<int64_t>(s.window); ++k) {
    const PageNumber q = page + static_cast<PageNumber>(k * s.stride);
    if ((s.stride > 0 && q < page) || (s.stride < 0 && q > page)) break;  // wrapped
    out.push_back(q);
    s.ahead = q;
  }
  return out;
}

}  // namespace ssivm::dsm
